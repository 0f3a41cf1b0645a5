"""core/secrets.py's reader over a fake Secrets Manager and a fake clock: TTL, rotation grace, failures, one read
shared by concurrent callers (sync and async faces over one cache)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from core.secrets import SecretReader, SecretUnavailable


class FakeSecrets:
    def __init__(self, value: str = "v1") -> None:
        self.value: str | Exception = value
        self.reads = 0
        self.gate: threading.Event | None = None

    def __call__(self, secret_id: str) -> str:
        self.reads += 1
        if self.gate is not None:
            self.gate.wait(5)
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake():
    return FakeSecrets()


@pytest.fixture
def clock():
    return Clock()


def test_a_value_is_read_once_within_the_ttl_and_again_after(fake, clock):
    reader = SecretReader(30, fetch=fake, clock=clock)
    assert [reader.get("s") for _ in range(3)] == ["v1"] * 3 and fake.reads == 1
    fake.value, clock.now = "v2", clock.now + 30
    assert reader.get("s") == "v2" and fake.reads == 2


def test_max_age_zero_forces_a_read(fake, clock):
    reader = SecretReader(30, fetch=fake, clock=clock)
    reader.get("s")
    fake.value = "v2"
    assert reader.get("s", max_age_s=0) == "v2" and fake.reads == 2


def test_after_a_rotation_the_previous_value_is_accepted_for_the_grace_only(fake, clock):
    reader = SecretReader(10, grace_s=5, fetch=fake, clock=clock)
    assert reader.values("s") == ("v1",)
    fake.value, clock.now = "v2", clock.now + 10
    assert reader.values("s") == ("v2", "v1") and reader.previous("s") == "v1"
    clock.now += 5
    assert reader.values("s") == ("v2",) and reader.previous("s") is None


def test_without_grace_a_rotated_value_is_refused_at_once(fake, clock):
    reader = SecretReader(10, fetch=fake, clock=clock)
    reader.get("s")
    fake.value, clock.now = "v2", clock.now + 10
    assert reader.values("s") == ("v2",)


def test_a_failed_read_keeps_the_value_and_retries_after_retry_s(fake, clock):
    reader = SecretReader(10, retry_s=3, fetch=fake, clock=clock)
    reader.get("s")
    fake.value, clock.now = RuntimeError("down"), clock.now + 10
    assert reader.get("s") == "v1" and fake.reads == 2
    clock.now += 2
    assert reader.get("s") == "v1" and fake.reads == 2  # not hammered while it is down
    fake.value, clock.now = "v2", clock.now + 1
    assert reader.get("s") == "v2" and fake.reads == 3


def test_a_secret_never_read_raises_and_is_not_hammered(fake, clock):
    reader = SecretReader(10, retry_s=3, fetch=fake, clock=clock)
    fake.value = RuntimeError("down")
    for _ in range(3):
        with pytest.raises(SecretUnavailable):
            reader.get("s")
    assert fake.reads == 1
    fake.value, clock.now = "v1", clock.now + 3
    assert reader.get("s") == "v1"


def test_concurrent_async_callers_share_one_read_and_a_cached_value_costs_none(fake, clock):
    reader = SecretReader(10, fetch=fake, clock=clock)
    fake.gate = threading.Event()

    async def run():
        waiting = [asyncio.ensure_future(reader.aget("s")) for _ in range(20)]
        await asyncio.sleep(0.05)
        fake.gate.set()
        first = await asyncio.gather(*waiting)
        return first, await reader.aget("s"), await reader.avalues("s")

    first, cached, accepted = asyncio.run(run())
    assert first == ["v1"] * 20 and cached == "v1" and accepted == ("v1",) and fake.reads == 1


def test_sync_and_async_faces_share_one_cache(fake, clock):
    reader = SecretReader(10, fetch=fake, clock=clock)
    assert reader.get("s") == "v1"
    assert asyncio.run(reader.aget("s")) == "v1" and fake.reads == 1
    clock.now += 10
    fake.value = "v2"
    assert asyncio.run(reader.aget("s")) == "v2" and reader.get("s") == "v2" and fake.reads == 2


def test_secrets_are_cached_apart(fake, clock):
    reader = SecretReader(10, fetch=fake, clock=clock)
    reader.get("a")
    reader.get("b")
    assert fake.reads == 2
