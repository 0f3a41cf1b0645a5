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
