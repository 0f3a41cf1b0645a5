"""Rate limits per caller (and optionally per caller and model), shared by every serve worker and task.

The shared state is one token bucket per key in a DynamoDB table (capacity = burst, refilled at rpm/60 per second).
No request waits on it in the common case: each worker leases a small slice of the bucket's tokens and spends them
locally, fetching the next slice in the background before the last one runs out. A worker that finds the shared
bucket empty refuses with a Retry-After computed from the bucket (when the next token arrives), and remembers that
time so it does not ask the store again before then.

Accuracy: a token is spent once, wherever it was leased, so over any minute a caller gets at most
`rpm + burst + workers x slice` requests (leased tokens expire after `slice_ttl_s`, which bounds what a worker can
carry from one minute into the next); under sustained demand the only loss is tokens leased by a worker that then
got no more requests, at most `workers x slice`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

from core.config import RateLimit, RateLimitConfig
from core.dynamo import ConditionFailed

log = logging.getLogger("lisa.rate_limits")


# The shared bucket: pure arithmetic, so the store only reads and conditionally writes two numbers.
@dataclass(frozen=True)
class BucketState:
    tokens: float
    updated_at: float


@dataclass(frozen=True)
class Grant:
    tokens: int
    retry_after_s: float = 0.0  # when tokens is 0: seconds until the bucket holds a whole token again


def refill(state: BucketState | None, limit: RateLimit, now: float) -> float:
    """Tokens in the bucket at `now` (a bucket never seen starts full)."""
    if state is None:
        return float(limit.burst)
    elapsed = max(0.0, now - state.updated_at)
    return min(float(limit.burst), state.tokens + elapsed * limit.rate_per_s)


def take(state: BucketState | None, limit: RateLimit, want: int, now: float) -> tuple[Grant, BucketState]:
    """Take up to `want` whole tokens; the grant and the bucket's new state."""
    available = refill(state, limit, now)
    granted = min(want, int(math.floor(available + 1e-9)))
    left = available - granted
    retry = 0.0 if granted else (1.0 - left) / limit.rate_per_s
    return Grant(granted, retry), BucketState(left, now)


LeaseFn = Callable[[str, RateLimit, int], Awaitable[Grant]]


class AsyncItems(Protocol):
    """What the shared buckets need of a DynamoDB client (serve's on-loop client; the api's boto3 in a thread)."""

    async def get_item(self, table: str, key: dict[str, Any], *, consistent: bool = True) -> dict[str, Any] | None: ...

    async def put_item(self, table: str, item: dict[str, Any], *, condition: str | None = None,
                       names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> None: ...


class SharedBuckets:
    """The buckets in the rate-limit table: read, take, write back on the condition that nobody wrote in between
    (retried a few times under contention). Items expire (TTL) an hour after their last use."""

    def __init__(self, items: AsyncItems, table: str, *, clock: Callable[[], float] = time.time,
                 attempts: int = 5) -> None:
        self.items = items
        self.table = table
        self._clock = clock
        self.attempts = attempts

    async def lease(self, key: str, limit: RateLimit, want: int) -> Grant:
        for _ in range(self.attempts):
            item = await self.items.get_item(self.table, {"bucketKey": key}, consistent=True)
            state = BucketState(float(item["tokens"]), float(item["updatedAt"])) if item else None
            now = self._clock()
            grant, new = take(state, limit, want, now)
            if grant.tokens == 0 and state is not None:
                return grant  # nothing to write: the bucket is as it was
            record = {"bucketKey": key, "tokens": round(new.tokens, 6), "updatedAt": new.updated_at,
                      "expiresAt": int(now) + 3600}
            try:
                if state is None:
                    await self.items.put_item(self.table, record, condition="attribute_not_exists(bucketKey)")
                else:
                    await self.items.put_item(self.table, record, condition="updatedAt = :seen",
                                              values={":seen": state.updated_at})
                return grant
            except ConditionFailed:
                continue  # another worker took from it first: read again
        return Grant(0, 0.05)  # heavy contention: ask again shortly


class RateLimited(Exception):
    def __init__(self, retry_after_s: float, key: str) -> None:
        super().__init__(f"rate limit exceeded for {key}")
        self.retry_after_s = retry_after_s
        self.key = key

    @property
    def retry_after_header(self) -> int:
        return max(1, math.ceil(self.retry_after_s))


@dataclass
class _LocalBucket:
    tokens: int = 0
    expires: float = 0.0
    denied_until: float = 0.0
    fetching: asyncio.Task | None = field(default=None, repr=False)


class Limiter:
    """Local slices of the shared buckets. `admit` costs a dict lookup and a decrement when a slice is in hand."""

    def __init__(self, lease: LeaseFn, *, slice_fraction: float = 0.05, max_slice: int = 10_000,
                 slice_ttl_s: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._lease = lease
        self.slice_fraction = slice_fraction
        self.max_slice = max_slice
        self.slice_ttl_s = slice_ttl_s
        self._clock = clock
        self._buckets: dict[str, _LocalBucket] = {}
        self._store_failures = 0

    def slice_for(self, limit: RateLimit) -> int:
        return max(1, min(self.max_slice, int(limit.rpm * self.slice_fraction), limit.burst))

    def take(self, key: str, limit: RateLimit) -> bool:
        """Spend one token of a slice in hand (the fast path: no await); False when `admit` has to wait or refuse."""
        bucket = self._buckets.get(key)
        if bucket is None or bucket.tokens <= 0:
            return False
        if self._clock() >= bucket.expires:
            bucket.tokens = 0  # an old slice would carry capacity from one minute into the next
            return False
        bucket.tokens -= 1
        if bucket.fetching is None and bucket.tokens * 2 < self.slice_for(limit):
            bucket.fetching = asyncio.ensure_future(self._lease_into(key, bucket, limit))  # the next, ahead of need
        return True

    async def admit(self, key: str, limit: RateLimit) -> None:
        """Spend one token of `key`'s bucket, leasing a slice when none is in hand; RateLimited when there is none."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _LocalBucket()
        for _ in range(3):  # concurrent callers may share one fetched slice: look again after each fetch
            if self.take(key, limit):
                return
            now = self._clock()
            if now < bucket.denied_until:
                raise RateLimited(bucket.denied_until - now, key)
            if bucket.fetching is None:
                bucket.fetching = asyncio.ensure_future(self._lease_into(key, bucket, limit))
            await asyncio.shield(bucket.fetching)
        raise RateLimited(max(bucket.denied_until - self._clock(), 0.5), key)

    def refund(self, key: str) -> None:
        """Give back a token spent on a request that was then refused by another bucket."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens += 1

    async def _lease_into(self, key: str, bucket: _LocalBucket, limit: RateLimit) -> None:
        try:
            try:
                grant = await self._lease(key, limit, self.slice_for(limit))
            except Exception as exc:  # noqa: BLE001 (the store is down: serve on, unlimited, rather than refuse all)
                self._store_failures += 1
                if self._store_failures in (1, 10) or self._store_failures % 1000 == 0:
                    log.warning("rate-limit store unavailable (%d times): %s; admitting", self._store_failures,
                                type(exc).__name__)
                grant = Grant(self.slice_for(limit))
            now = self._clock()
            if grant.tokens:
                if now >= bucket.expires:
                    bucket.tokens = 0
                bucket.tokens += grant.tokens
                bucket.expires = now + self.slice_ttl_s
            else:
                bucket.denied_until = now + grant.retry_after_s
        finally:
            bucket.fetching = None

    def forget_idle(self, max_entries: int = 100_000) -> None:
        """Bound memory: drop local buckets that hold nothing (called now and then)."""
        if len(self._buckets) > max_entries:
            now = self._clock()
            for key in [k for k, b in self._buckets.items() if b.fetching is None and (b.tokens == 0 or now >= b.expires)]:
                del self._buckets[key]


def caller_keys(*, token_id: str | None, subject: str | None, username: str | None) -> list[str]:
    """The keys a caller's limit may be configured under, most specific first (LISA's key forms)."""
    keys = []
    if token_id:
        keys.append(f"token:{token_id}")
    if subject:
        keys.append(f"oidc:{subject}")
    if username:
        keys.append(f"user:{username}")
    return keys


