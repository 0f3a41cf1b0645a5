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
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Iterable, NamedTuple

from core.periodic import Periodic

log = logging.getLogger("lisa.usage")

RETENTION_S = 400 * 86400
USER_INDEX = "byUser"


class UsageEvent(NamedTuple):
    """One inference call (a tuple: serve makes one per request, so it must cost next to nothing)."""

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


def _minute(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def day_of(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d")


_Key = tuple[int, str, str, str | None, tuple[str, ...], str, str, int]  # the minute as unix minutes


class UsageAggregator:
    """Events folded into rows; `add` is a dict update (the hot path's whole cost)."""

    def __init__(self) -> None:
        self._rows: dict[_Key, list[float]] = {}

    def add(self, e: UsageEvent) -> None:
        self.add_call(*e)

    def add_call(self, user_id: str, username: str, token_id: str | None, groups: tuple[str, ...], model: str,
                 endpoint: str, status: int, prompt_tokens: int, completion_tokens: int, latency_ms: float,
                 ttft_ms: float | None, at: float) -> None:
        """One call, its fields given as they come (serve calls this per request: no event object is built)."""
        key = (int(at // 60), user_id, username, token_id, groups, model, endpoint, status)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = [0, 0, 0, 0.0, 0.0, 0.0, 0]
        row[0] += 1
        row[1] += prompt_tokens
        row[2] += completion_tokens
        row[3] += latency_ms
        if latency_ms > row[4]:
            row[4] = latency_ms
        if ttft_ms is not None:
            row[5] += ttft_ms
            row[6] += 1

    def __len__(self) -> int:
        return len(self._rows)

    def drain(self, writer_id: str, sequence: int) -> list[dict[str, Any]]:
        """The rows so far as table items (and a fresh start)."""
        rows, self._rows = self._rows, {}
        items = []
        for i, (key, v) in enumerate(rows.items()):
            unix_minute, user_id, username, token_id, groups, model, endpoint, status = key
            minute = _minute(unix_minute)
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

    @property
    def record_call(self):
        """`UsageAggregator.add_call` of the rows being collected (the hot path's one call)."""
        return self._aggregator.add_call

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
INTERVALS = {"hour": 13, "day": 10}  # how many characters of a row's minute name its bucket


class _Sums:
    __slots__ = ("requests", "errors", "prompt", "completion", "latency", "ttft", "ttft_count")

    def __init__(self) -> None:
        self.requests = self.errors = self.prompt = self.completion = self.ttft_count = 0
        self.latency = self.ttft = 0.0

    def add(self, row: dict[str, Any]) -> None:
        requests = int(row.get("requests", 0))
        self.requests += requests
        if int(row.get("status", 200)) >= 400:
            self.errors += requests
        self.prompt += int(row.get("promptTokens", 0))
        self.completion += int(row.get("completionTokens", 0))
        self.latency += float(row.get("latencyMsSum", 0))
        self.ttft += float(row.get("ttftMsSum", 0))
        self.ttft_count += int(row.get("ttftCount", 0))

    def counts(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "promptTokens": self.prompt,
                "completionTokens": self.completion, "totalTokens": self.prompt + self.completion}

    def totals(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "avgLatencyMs": round(self.latency / self.requests, 2) if self.requests else None,
            "avgTtftMs": round(self.ttft / self.ttft_count, 2) if self.ttft_count else None,
        }


def _sums(table: dict[Any, _Sums], key: Any) -> _Sums:
    sums = table.get(key)
    if sums is None:
        sums = table[key] = _Sums()
    return sums


class UsageSummary:
    """Rows folded one at a time into totals overall and by user, model, group and day, and a timeline of
    (bucket, model, user) counts. Memory grows with the distinct users, models, groups and buckets, never with the
    rows read. A row of several groups counts for each of them."""

    def __init__(self, interval: str = "day") -> None:
        self._bucket_chars = INTERVALS[interval]
        self._all = _Sums()
        self._by: dict[str, dict[str, _Sums]] = {"user": {}, "model": {}, "group": {}, "day": {}}
        self._timeline: dict[tuple[str, str, str], _Sums] = {}
        self._usernames: dict[str, str] = {}

    def add(self, row: dict[str, Any]) -> None:
        user, model, minute = row["userId"], row["model"], row["minute"]
        self._usernames.setdefault(user, row.get("username") or user)
        self._all.add(row)
        keys = [("user", user), ("model", model), ("day", minute[:10])]
        keys += [("group", group) for group in row.get("groups") or ["(none)"]]
        for dimension, key in keys:
            _sums(self._by[dimension], key).add(row)
        _sums(self._timeline, (minute[:self._bucket_chars], model, user)).add(row)

    def result(self) -> dict[str, Any]:
        def listed(dimension: str, name: str) -> list[dict[str, Any]]:
            return [{name: key, **sums.totals()} for key, sums in sorted(self._by[dimension].items())]

        return {
            "totals": self._all.totals(),
            "byUser": [{"userId": key, "username": self._usernames[key], **sums.totals()}
                       for key, sums in sorted(self._by["user"].items())],
            "byModel": listed("model", "model"),
            "byGroup": listed("group", "group"),
            "byDay": listed("day", "day"),
            "timeline": [{"time": bucket_start(bucket), "model": model, "userId": user,
                          "username": self._usernames[user], **sums.counts()}
                         for (bucket, model, user), sums in sorted(self._timeline.items())],
        }


def bucket_start(bucket: str) -> str:
    """A bucket's name (`2025-01-31` or `2025-01-31T13`) as the ISO time it starts at."""
    return f"{bucket}T00:00:00Z" if len(bucket) == 10 else f"{bucket}:00:00Z"


def summarize(rows: Iterable[dict[str, Any]], interval: str = "day") -> dict[str, Any]:
    summary = UsageSummary(interval)
    for row in rows:
        summary.add(row)
    return summary.result()


def minute_name(at: float) -> str:
    """The minute `at` (unix seconds) falls in, as rows name it (their sort keys start with it)."""
    return _minute(int(at // 60))


def days_between(start: float, end: float) -> list[str]:
    """The `day#…` partitions a time range touches (inclusive), oldest first."""
    days, at = [], start - start % 86400
    while at <= end:
        days.append(day_of(at))
        at += 86400
    return days
