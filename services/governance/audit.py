"""The audit log: admin and security events, append-only, in the audit table.

An event says who (actor id and name), did what (`action`, e.g. `model.create`, `token.revoke`, `auth.refused`),
to what (`target`), when, from where (source IP) and with what outcome (`success`, `denied`, `failed`). Nothing
secret goes in: callers pass ids and names, never credentials, and `details` is checked for keys that look like
secrets. Refusals (failed authentication or authorisation) are rate-limited in the log itself, per source and
action, so a flood of bad credentials cannot flood the table: past `refusals_per_minute`, the rest of that minute
is counted and written as one `suppressed` summary.

Items: partition `day#<YYYY-MM-DD>`, sort key `<ISO time>#<id>`; written in batches in the background.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from core.periodic import Periodic

log = logging.getLogger("lisa.audit")

RETENTION_S = 400 * 86400
OUTCOMES = ("success", "denied", "failed")
_SECRET_KEY = re.compile(r"(?i)(token|secret|password|api[_-]?key|authorization|credential)")


@dataclass(frozen=True)
class AuditEvent:
    action: str
    outcome: str
    actor_id: str | None = None
    actor_name: str | None = None
    target: str | None = None
    source_ip: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def item(self) -> dict[str, Any]:
        when = datetime.fromtimestamp(self.at, timezone.utc)
        stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        item: dict[str, Any] = {
            "pk": f"day#{stamp[:10]}", "sk": f"{stamp}#{uuid.uuid4().hex[:12]}", "time": stamp,
            "action": self.action, "outcome": self.outcome, "expiresAt": int(self.at) + RETENTION_S,
        }
        for name, value in (("actorId", self.actor_id), ("actorName", self.actor_name), ("target", self.target),
                            ("sourceIp", self.source_ip)):
            if value:
                item[name] = str(value)[:512]
        details = safe_details(self.details)
        if details:
            item["details"] = details
        return item


def safe_details(details: dict[str, Any]) -> dict[str, Any]:
    """Details minus anything whose key names a secret (a token, a password, an API key...), values shortened."""
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if _SECRET_KEY.search(key) and key not in ("tokenUUID", "tokenId", "tokenName"):
            continue
        if isinstance(value, str):
            value = value[:512]
        elif isinstance(value, (list, tuple)):
            value = [str(v)[:128] for v in list(value)[:50]]
        elif not isinstance(value, (int, float, bool)) and value is not None:
            value = str(value)[:512]
        clean[key] = value
    return clean


WriteItems = Callable[[list[dict[str, Any]]], Awaitable[None]]


class AuditLog:
    """Thread-safe `record` (routes run in threads); a background task writes batches every `flush_s`."""

    def __init__(self, write: WriteItems, *, flush_s: float = 1.0, refusals_per_minute: int = 20,
                 max_pending: int = 50_000) -> None:
        self._write = write
        self.flush_s = flush_s
        self.refusals_per_minute = refusals_per_minute
        self._pending: deque[dict[str, Any]] = deque(maxlen=max_pending)
        self._lock = threading.Lock()
        self._refusals: dict[tuple[str, str, int], int] = {}
        self._flusher = Periodic(self.flush, flush_s, name="audit flush")

    def record(self, event: AuditEvent) -> None:
        if event.outcome != "success" and not self._admit_refusal(event):
            return
        with self._lock:
            self._pending.append(event.item())

    def _admit_refusal(self, event: AuditEvent) -> bool:
        minute = int(event.at // 60)
        key = (event.action, event.source_ip or "?", minute)
        with self._lock:
            seen = self._refusals.get(key, 0) + 1
            self._refusals[key] = seen
            if len(self._refusals) > 10_000:
                self._close_minutes(minute)
        return seen <= self.refusals_per_minute

    def _close_minutes(self, current: int | None = None) -> None:
        """Turn the refusals counted past the limit in finished minutes into one summary event each."""
        for key in [k for k in self._refusals if current is None or k[2] < current]:
            count = self._refusals.pop(key)
            if count > self.refusals_per_minute:
                action, source, minute = key
                summary = AuditEvent(action=action, outcome="suppressed", source_ip=None if source == "?" else source,
                                     details={"suppressed": count - self.refusals_per_minute}, at=minute * 60 + 59)
                self._pending.append(summary.item())

    def start(self) -> None:
        self._flusher.start()

    async def close(self) -> None:
        await self._flusher.stop()
        with self._lock:
            self._close_minutes()
        await self.flush()

    async def flush(self) -> None:
        with self._lock:
            self._close_minutes(int(time.time() // 60))
            items = list(self._pending)
            self._pending.clear()
        if not items:
            return
        try:
            await self._write(items)
        except Exception as exc:  # noqa: BLE001 (put them back for the next round)
            log.warning("could not write %d audit events: %s", len(items), type(exc).__name__)
            with self._lock:
                self._pending.extendleft(reversed(items))


# Reading: pages of events, newest first, for the api ------------------------------------------------------------------
# A page's query of one day: (day, exclusive start sort key or None, how many items to read) → the items that pass
# the filter, newest first, and the sort key reading stopped at (None: the day holds no more).
DayQuery = Callable[[str, "str | None", int], tuple[list[dict[str, Any]], "str | None"]]
Cursor = tuple[str, "str | None"]  # (day, the sort key to continue after; None: from that day's newest)


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # an actor's id or name
    action: str | None = None  # an action or its start: "token" finds token.create and token.revoke
    outcome: str | None = None

    def expression(self) -> tuple[str | None, dict[str, str], dict[str, Any]]:
        """DynamoDB's FilterExpression for these conditions, with its names and values (None: no filter)."""
        clauses, names, values = [], {}, {}
        if self.actor:
            names.update({"#ai": "actorId", "#an": "actorName"})
            values[":actor"] = self.actor
            clauses.append("(#ai = :actor OR #an = :actor)")
        if self.action:
            names["#ac"] = "action"
            values[":action"] = self.action
            clauses.append("begins_with(#ac, :action)")
        if self.outcome:
            names["#oc"] = "outcome"
            values[":outcome"] = self.outcome
            clauses.append("#oc = :outcome")
        return (" AND ".join(clauses) or None), names, values


def read_page(query: DayQuery, days: list[str], page_size: int, cursor: Cursor | None, *,
              read_size: int = 100, max_reads: int = 40) -> tuple[list[dict[str, Any]], Cursor | None]:
    """Up to `page_size` events from `days` (newest first) starting at `cursor`, and the cursor of the next page
    (None: nothing more). At most `max_reads` queries per page: a sparse filter may answer a short page, even an
    empty one, with a cursor to follow."""
    if cursor is None:
        cursor = (days[0], None) if days else None
    if cursor is None:
        return [], None
    index = days.index(cursor[0])
    after = cursor[1]
    found: list[dict[str, Any]] = []
    for _ in range(max_reads):
        day = days[index]
        items, last = query(day, after, read_size)
        room = page_size - len(found)
        if len(items) > room:  # more than the page holds: the next page continues after the last one shown
            found += items[:room]
            return found, (day, found[-1]["sk"])
        found += items
        if last is None:
            index += 1
            if index == len(days):
                return found, None
            after = None
        else:
            after = last
        if len(found) == page_size:
            return found, (days[index], after)
    return found, (days[index], after)
