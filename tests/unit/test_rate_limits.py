"""Rate limits (services/governance/rate_limits.py): the shared bucket's arithmetic, local slices, resolution."""

from __future__ import annotations

import asyncio

import pytest

from core.config import RateLimit, RateLimitConfig
from services.governance.rate_limits import BucketState, Grant, Limiter, RateLimited, caller_keys, refill, take

LIMIT = RateLimit(rpm=600, burst=30)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SharedStore:
    """The shared buckets as the DynamoDB store keeps them, in memory, with a call counter."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.state: dict[str, BucketState] = {}
        self.calls = 0
        self.down = False

    async def lease(self, key: str, limit: RateLimit, want: int) -> Grant:
        self.calls += 1
        if self.down:
            raise ConnectionError("store down")
        grant, self.state[key] = take(self.state.get(key), limit, want, self.clock())
        return grant


def test_a_new_bucket_starts_full_and_refills_at_the_rate():
    assert refill(None, LIMIT, 0) == 30
    assert refill(BucketState(0, 0), LIMIT, 1.0) == pytest.approx(10)
    assert refill(BucketState(0, 0), LIMIT, 100.0) == 30


def test_take_grants_whole_tokens_and_says_when_the_next_arrives():
    grant, state = take(BucketState(2.5, 0), LIMIT, 5, 0)
    assert grant.tokens == 2 and state.tokens == pytest.approx(0.5)
    refused, _ = take(state, LIMIT, 5, 0)
    assert refused.tokens == 0 and refused.retry_after_s == pytest.approx(0.05)


def run(coro):
    return asyncio.run(coro)


def admitted(limiter: Limiter, n: int, key: str = "token:t") -> tuple[int, list[float]]:
    async def go():
        ok, waits = 0, []
        for _ in range(n):
            try:
                await limiter.admit(key, LIMIT)
                ok += 1
            except RateLimited as exc:
                waits.append(exc.retry_after_s)
        return ok, waits
    return run(go())


def test_a_burst_is_admitted_then_refused_with_a_truthful_retry_after():
    clock = Clock()
    store = SharedStore(clock)
    ok, waits = admitted(Limiter(store.lease, clock=clock), 40)
    assert ok == 30 and len(waits) == 10 and 0 < waits[0] <= 0.1 + 1e-6


def test_slices_keep_the_store_off_the_path():
    clock = Clock()
    store = SharedStore(clock)
    limiter = Limiter(store.lease, clock=clock)
    admitted(limiter, 30)
    assert store.calls <= 30 // limiter.slice_for(LIMIT) + 2


def test_two_workers_share_one_budget_per_minute():
    clock = Clock()
    store = SharedStore(clock)
    workers = [Limiter(store.lease, clock=clock), Limiter(store.lease, clock=clock)]
    total = 0
    for step in range(600):  # one minute in 0.1 s steps, each worker offered 5 requests per step (3000/min demand)
        for worker in workers:
            total += admitted(worker, 5)[0]
        clock.now += 0.1
    assert 600 * 0.9 <= total <= 600 * 1.1


def test_a_refused_worker_does_not_ask_the_store_again_before_retry_after():
    clock = Clock()
    store = SharedStore(clock)
    limiter = Limiter(store.lease, clock=clock)
    admitted(limiter, 30)
    calls = store.calls
    admitted(limiter, 50)
    assert store.calls <= calls + 1


def test_the_store_down_admits_rather_than_refusing_everyone():
    clock = Clock()
    store = SharedStore(clock)
    store.down = True
    assert admitted(Limiter(store.lease, clock=clock), 5)[0] == 5


def test_policy_resolution_order():
    policy = RateLimitConfig(rpm=60, burst=10, overrides={
        "token:t1": {"rpm": 1, "burst": 1}, "user:alice": {"rpm": 2, "burst": 1},
        "group:gold": {"rpm": 1000, "burst": 100}, "group:silver": {"rpm": 300, "burst": 30}})
    keys = caller_keys(token_id="t1", subject="s", username="alice")
    assert policy.limit_for(keys, ["gold"]).rpm == 1
    assert policy.limit_for(caller_keys(token_id=None, subject="s", username="alice"), ["gold"]).rpm == 2
    assert policy.limit_for(caller_keys(token_id=None, subject="s", username="bob"), ["silver", "gold"]).rpm == 1000
    assert policy.limit_for(caller_keys(token_id=None, subject="s", username="bob"), []).rpm == 60
