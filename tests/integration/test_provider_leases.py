"""core.leases against the emulator: the lock the providers (cluster capacity providers) and the engine (one job
per model across processes) rely on."""

from __future__ import annotations

import time

import pytest

from core.dynamo import Table
from core.leases import Lease, LeaseTimeout


@pytest.fixture
def table(platform):
    return platform[0].tables.models


def test_a_held_lease_cannot_be_taken(table):
    with Lease(table, "held", ttl=30):
        with pytest.raises(LeaseTimeout):
            Lease(table, "held", ttl=30, timeout=0.3).acquire()


def test_a_released_lease_can_be_taken_at_once(table):
    Lease(table, "released", ttl=30).__enter__().release()
    with Lease(table, "released", ttl=30, timeout=1):
        pass


def test_an_expired_lease_is_taken_over(table):
    Lease(table, "expired", ttl=0.5).acquire()  # its holder "dies" without releasing
    started = time.monotonic()
    with Lease(table, "expired", ttl=30, timeout=5):
        assert time.monotonic() - started < 5


def test_releasing_someone_elses_lease_leaves_it_held(table):
    holder, other = Lease(table, "owned", ttl=30), Lease(table, "owned", ttl=30, timeout=0.3)
    holder.acquire()
    other.release()
    with pytest.raises(LeaseTimeout):
        other.acquire()
    holder.release()


def test_a_kept_alive_lease_outlives_its_ttl(table):
    lease = Lease(table, "kept", ttl=1.5)
    lease.acquire()
    lease.keep_alive()
    try:
        time.sleep(2.5)
        with pytest.raises(LeaseTimeout):
            Lease(table, "kept", ttl=30, timeout=0.3).acquire()
    finally:
        lease.release()


def test_lease_items_are_not_models(table, platform):
    from core.registry import ModelRegistry

    with Lease(table, "invisible", ttl=30):
        assert Table(table).get({"modelId": "#lease/invisible"}) is not None
        assert all(not r.model_id.startswith("#") for r in ModelRegistry(table).list())
