"""core.secrets against the emulator: create or update, exists, delete, and a reader that sees a rotation."""

from __future__ import annotations

import uuid

from core import secrets


def test_put_creates_then_updates_and_delete_removes(moto_endpoint):
    name = f"core-secrets/{uuid.uuid4().hex[:8]}"
    assert not secrets.exists(name)
    arn = secrets.put(name, "one", description="a test secret")
    assert secrets.exists(name) and secrets.read(name) == "one"
    assert secrets.put(name, "two") == arn and secrets.read(arn) == "two"
    secrets.delete(name)
    secrets.delete(name)  # deleting what is gone is done
    assert not secrets.exists(name)


def test_a_reader_sees_a_rotation_after_its_ttl(moto_endpoint):
    name = f"core-secrets/{uuid.uuid4().hex[:8]}"
    secrets.put(name, "before")
    clock = [0.0]
    reader = secrets.SecretReader(30, grace_s=10, clock=lambda: clock[0])
    assert reader.get(name) == "before"
    secrets.put(name, "after")
    assert reader.get(name) == "before"
    clock[0] = 30
    assert reader.values(name) == ("after", "before")
