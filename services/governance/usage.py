"""Usage metering: who called which model, how often, with how many tokens, how fast.

Every inference request becomes a `UsageEvent`. Serve never writes one per request: events are folded in memory
into one row per (minute, caller, token, groups, model, endpoint, status) — counts and sums — and a background task
writes the rows in batches every few seconds (never on a request's path). Rows survive restarts in the usage table:
partition `day#<YYYY-MM-DD>`, sort key `<minute>#<writer>#<n>` (unique per writer, so writers never collide), and a
`byUser` index on (`userId`, sort key) for a user's own figures. `summarize` turns rows into the totals the api
answers (by user, model, group and day).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Iterable

from core.periodic import Periodic

log = logging.getLogger("lisa.usage")

RETENTION_S = 400 * 86400
USER_INDEX = "byUser"


@dataclass(frozen=True)
class UsageEvent:
    user_id: str
    username: str
    token_id: str | None
    groups: tuple[str, ...]
    model: str
    endpoint: str
    status: int
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    ttft_ms: float | None
    at: float  # unix seconds


def _minute(at: float) -> str:
    return datetime.fromtimestamp(at - at % 60, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def day_of(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d")


_Key = tuple[str, str, str, str | None, tuple[str, ...], str, str, int]


class UsageAggregator:
    """Events folded into rows; `add` is a dict update (the hot path's whole cost)."""

    def __init__(self) -> None:
        self._rows: dict[_Key, list[float]] = {}

    def add(self, e: UsageEvent) -> None:
        key = (_minute(e.at), e.user_id, e.username, e.token_id, e.groups, e.model, e.endpoint, e.status)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = [0, 0, 0, 0.0, 0.0, 0.0, 0]
        row[0] += 1
        row[1] += e.prompt_tokens
        row[2] += e.completion_tokens
        row[3] += e.latency_ms
        row[4] = max(row[4], e.latency_ms)
        if e.ttft_ms is not None:
            row[5] += e.ttft_ms
            row[6] += 1

    def __len__(self) -> int:
        return len(self._rows)

    def drain(self, writer_id: str, sequence: int) -> list[dict[str, Any]]:
        """The rows so far as table items (and a fresh start)."""
        rows, self._rows = self._rows, {}
        items = []
        for i, (key, v) in enumerate(rows.items()):
            minute, user_id, username, token_id, groups, model, endpoint, status = key
            item = {
                "pk": f"day#{minute[:10]}", "sk": f"{minute}#{writer_id}#{sequence}.{i}", "minute": minute,
                "userId": user_id, "username": username, "groups": list(groups), "model": model,
                "endpoint": endpoint, "status": status, "requests": int(v[0]), "promptTokens": int(v[1]),
                "completionTokens": int(v[2]), "latencyMsSum": round(v[3], 3), "latencyMsMax": round(v[4], 3),
                "ttftMsSum": round(v[5], 3), "ttftCount": int(v[6]), "expiresAt": int(time.time()) + RETENTION_S,
            }
            if token_id:
                item["tokenId"] = token_id
            items.append(item)
        return items


WriteRows = Callable[[list[dict[str, Any]]], Awaitable[None]]


class UsageMeter:
    """Collects events and writes their rows every `flush_s` in the background; flushes what is left at close."""

    def __init__(self, write: WriteRows, *, flush_s: float = 2.0, max_pending_rows: int = 100_000) -> None:
        self._write = write
        self.flush_s = flush_s
        self.max_pending_rows = max_pending_rows
        self.writer_id = uuid.uuid4().hex[:12]
        self._aggregator = UsageAggregator()
        self._unwritten: list[dict[str, Any]] = []  # rows a failed write left for the next round
        self._sequence = 0
        self._flusher = Periodic(self.flush, flush_s, name="usage flush")
        self.written_rows = 0

    def record(self, event: UsageEvent) -> None:
        self._aggregator.add(event)

    def start(self) -> None:
        self._flusher.start()

    async def close(self) -> None:
        await self._flusher.stop()
        await self.flush()

    async def flush(self) -> None:
        self._sequence += 1
        rows = self._unwritten + self._aggregator.drain(self.writer_id, self._sequence)
        self._unwritten = []
        if not rows:
            return
        try:
            await self._write(rows)
            self.written_rows += len(rows)
        except Exception as exc:  # noqa: BLE001 (keep the rows for the next round, within a bound)
            log.warning("could not write %d usage rows: %s", len(rows), type(exc).__name__)
            self._unwritten = rows[-self.max_pending_rows:]



# Reading: totals for the api -----------------------------------------------------------------------------------------
_SUMS = ("requests", "promptTokens", "completionTokens", "latencyMsSum", "ttftMsSum", "ttftCount")


def _totals(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {name: 0 for name in _SUMS}
    errors = 0
    for row in rows:
        for name in _SUMS:
            out[name] += row.get(name, 0)
        if int(row.get("status", 200)) >= 400:
            errors += row.get("requests", 0)
    requests = out["requests"]
    return {
        "requests": requests, "errors": errors, "promptTokens": out["promptTokens"],
        "completionTokens": out["completionTokens"], "totalTokens": out["promptTokens"] + out["completionTokens"],
        "avgLatencyMs": round(out["latencyMsSum"] / requests, 2) if requests else None,
        "avgTtftMs": round(out["ttftMsSum"] / out["ttftCount"], 2) if out["ttftCount"] else None,
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals overall and by user, model, group and day (a row of several groups counts for each of them)."""
    by: dict[str, dict[str, list[dict[str, Any]]]] = {"user": {}, "model": {}, "group": {}, "day": {}}
    for row in rows:
        by["user"].setdefault(row["userId"], []).append(row)
        by["model"].setdefault(row["model"], []).append(row)
        by["day"].setdefault(row["minute"][:10], []).append(row)
        for group in row.get("groups") or ["(none)"]:
            by["group"].setdefault(group, []).append(row)
    usernames = {row["userId"]: row.get("username") or row["userId"] for row in rows}
    return {
        "totals": _totals(rows),
        "byUser": [{"userId": k, "username": usernames[k], **_totals(v)} for k, v in sorted(by["user"].items())],
        "byModel": [{"model": k, **_totals(v)} for k, v in sorted(by["model"].items())],
        "byGroup": [{"group": k, **_totals(v)} for k, v in sorted(by["group"].items())],
        "byDay": [{"day": k, **_totals(v)} for k, v in sorted(by["day"].items())],
    }


def days_between(start: float, end: float) -> list[str]:
    """The `day#…` partitions a time range touches (inclusive), oldest first."""
    days, at = [], start - start % 86400
    while at <= end:
        days.append(day_of(at))
        at += 86400
    return days
