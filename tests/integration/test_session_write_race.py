"""A session write held between its S3 put and its item put (hardening M5), made deterministic with the store's
seam: the write that lost the race leaves no dangling pointer and no orphan body, and the session stays readable."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from core import aws
from services.api.session_store import SessionConflictError, SessionSettings, SessionStore, session_prefix

USER = "race-user"
SETTINGS = SessionSettings(offload_bytes=1024)  # every body below goes to S3


def big(text: str) -> list[dict]:
    return [{"role": "user", "content": text}, {"role": "assistant", "content": "y " * 2000}]


@pytest.fixture
def stores(platform):
    outputs, _ = platform
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        assert release.wait(30), "the test never released the held write"

    slow = SessionStore(outputs.tables.sessions, outputs.buckets.sessions, SETTINGS, after_body_put=hold)
    fast = SessionStore(outputs.tables.sessions, outputs.buckets.sessions, SETTINGS)
    return slow, fast, held, release


def objects(store: SessionStore, sid: str) -> list[str]:
    listed = aws.client("s3").list_objects_v2(Bucket=store.bucket, Prefix=session_prefix(USER, sid))
    return [o["Key"] for o in listed.get("Contents", [])]


def race(slow, fast, held, release, **slow_kwargs):
    """The slow write puts its body and waits; a small write lands meanwhile; then the slow write goes on."""
    sid = str(uuid.uuid4())
    version = fast.put(USER, sid, messages=big("v1"), name=None, model=None, configuration=None)["version"]
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(slow.put, USER, sid, messages=big("slow"), name=None, model=None, configuration=None,
                              **({"expected_version": version} if slow_kwargs.get("versioned") else {}))
        assert held.wait(30)
        fast.put(USER, sid, messages=[{"role": "user", "content": "fast and small"}], name=None, model=None,
                 configuration=None)
        release.set()
        return sid, pending.exception(timeout=30)


def test_a_versioned_write_that_lost_the_race_is_a_conflict_and_leaves_nothing(stores):
    slow, fast, held, release = stores
    sid, error = race(slow, fast, held, release, versioned=True)
    assert isinstance(error, SessionConflictError)
    assert fast.get(USER, sid)["history"] == [{"role": "user", "content": "fast and small"}]
    assert objects(fast, sid) == []  # the loser deleted its own body; the first body went when the winner landed


def test_an_unversioned_write_that_lost_the_race_retries_and_wins_cleanly(stores):
    slow, fast, held, release = stores
    sid, error = race(slow, fast, held, release)
    assert error is None
    stored = fast.get(USER, sid)
    assert stored["history"] == big("slow") and stored["version"] == 3
    assert objects(fast, sid) == [fast.table.get({"userId": USER, "sessionId": sid})["bodyKey"]]
