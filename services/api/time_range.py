"""The time range of the governance reads (`start`, `end`: ISO 8601 or unix seconds), bounded so a read stays cheap.

A date alone means its midnight (UTC); a time without an offset is UTC. `end` defaults to now, `start` to `end` minus
the route's default span. A range longer than `MAX_DAYS`, or one that ends before it starts, is a 400.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

from core.errors import InvalidInputError

MAX_DAYS = 366
# Unix seconds from 1970 to 9999: anything else is a typo or milliseconds, and datetime refuses it anyway.
_LATEST = 253_402_300_799


@dataclass(frozen=True)
class TimeRange:
    start: float  # unix seconds, inclusive
    end: float  # unix seconds, inclusive

    @property
    def days(self) -> float:
        return (self.end - self.start) / 86400

    def iso(self, at: float) -> str:
        return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_instant(value: str, name: str) -> float:
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = _iso_seconds(text, name)
    if not math.isfinite(seconds) or not 0 <= seconds <= _LATEST:
        raise InvalidInputError(f"{name}: a time from 1970 to 9999", param=name)
    return seconds


def _iso_seconds(text: str, name: str) -> float:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"{name}: an ISO 8601 time (2025-01-31 or 2025-01-31T13:45:00Z) or unix seconds",
                                param=name) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        return when.timestamp()
    except (OverflowError, ValueError):  # year 1 with a positive offset falls before datetime's range
        return -1.0


def time_range(start: str | None, end: str | None, *, default_days: int, now: float) -> TimeRange:
    end_at = parse_instant(end, "end") if end else now
    start_at = parse_instant(start, "start") if start else max(end_at - default_days * 86400, 0.0)
    if end_at < start_at:
        raise InvalidInputError("end: must not be before start", param="end")
    if end_at - start_at > MAX_DAYS * 86400:
        raise InvalidInputError(f"the range from start to end may span at most {MAX_DAYS} days", param="start")
    return TimeRange(start_at, end_at)
