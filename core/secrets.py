"""Secrets Manager: one reader with a TTL cache (sync and async faces), and the few writes the platform makes.

`SecretReader` keeps each secret's value for `ttl_s`, then reads it again, so a rotation reaches every process
within the TTL. After a rotation it may keep accepting the previous value for `grace_s` (`values`), so that
processes that have not yet re-read the secret keep working with each other. A failed read keeps the value it had
(an outage of Secrets Manager must not lock everyone out) and is retried after `retry_s`; with no value yet it
raises `SecretUnavailable`. Concurrent callers share one read, sync and async alike.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from botocore.exceptions import ClientError

from core import aws

log = logging.getLogger("lisa.secrets")


class SecretUnavailable(Exception):
    """The secret could not be read and no earlier value is known."""


def read(secret_id: str) -> str:
    """The secret's current string value, uncached."""
    return aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]


def put(name: str, value: str, *, description: str | None = None) -> str:
    """Create the secret, or give an existing one a new value; its ARN."""
    sm = aws.client("secretsmanager")
    try:
        extra = {"Description": description} if description else {}
        return sm.create_secret(Name=name, SecretString=value, **extra)["ARN"]
    except ClientError as exc:
        if aws.error_code(exc) != "ResourceExistsException":
            raise
    return sm.put_secret_value(SecretId=name, SecretString=value)["ARN"]


def delete(secret_id: str) -> None:
    """Delete the secret at once (no recovery window); a missing secret is already deleted."""
    try:
        aws.client("secretsmanager").delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
    except ClientError as exc:
        if aws.error_code(exc) != "ResourceNotFoundException":
            raise


def exists(secret_id: str) -> bool:
    """True when the secret exists and is not scheduled for deletion."""
    try:
        described = aws.client("secretsmanager").describe_secret(SecretId=secret_id)
    except ClientError as exc:
        if aws.error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return not described.get("DeletedDate")


@dataclass(frozen=True)
class _Entry:
    value: str
    read_at: float  # when the value was last read successfully (reader's clock)
    due_at: float  # when the next read is due (read_at + ttl, or a failed read + retry)
    previous: str | None = None
    previous_until: float = float("-inf")


class SecretReader:
    def __init__(self, ttl_s: float = 300.0, *, grace_s: float = 0.0, retry_s: float = 5.0,
                 fetch: Callable[[str], str] = read, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.grace_s = grace_s
        self.retry_s = retry_s
        self._fetch = fetch
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._failed_until: dict[str, float] = {}
        self._lock = threading.Lock()
        self._inflight: dict[str, asyncio.Future[_Entry]] = {}

    def get(self, secret_id: str, *, max_age_s: float | None = None) -> str:
        """The value, read again when older than the TTL (or `max_age_s`; 0 forces a read)."""
        return self._entry(secret_id, max_age_s).value

    async def aget(self, secret_id: str, *, max_age_s: float | None = None) -> str:
        """`get` for the event loop: a cached value costs no thread; a read runs in one, shared by concurrent callers."""
        entry = self._fresh(secret_id, max_age_s)
        if entry is None:
            entry = await self._shared_read(secret_id, max_age_s)
        return entry.value

    def values(self, secret_id: str) -> tuple[str, ...]:
        """The accepted values: the current one and, within the grace after a rotation, the one before it."""
        return self._accepted(self._entry(secret_id, None))

    async def avalues(self, secret_id: str) -> tuple[str, ...]:
        entry = self._fresh(secret_id, None)
        if entry is None:
            entry = await self._shared_read(secret_id, None)
        return self._accepted(entry)

    def previous(self, secret_id: str) -> str | None:
        """The value before the last rotation while its grace lasts, else None (what a sender may fall back to)."""
        entry = self._entries.get(secret_id)
        if entry is None or entry.previous is None or self._clock() >= entry.previous_until:
            return None
        return entry.previous

    def forget(self, secret_id: str | None = None) -> None:
        with self._lock:
            if secret_id is None:
                self._entries.clear()
                self._failed_until.clear()
            else:
                self._entries.pop(secret_id, None)
                self._failed_until.pop(secret_id, None)

    # internals ---------------------------------------------------------------------------------------------------
    def _accepted(self, entry: _Entry) -> tuple[str, ...]:
        if entry.previous is not None and self._clock() < entry.previous_until:
            return entry.value, entry.previous
        return (entry.value,)

    def _fresh(self, secret_id: str, max_age_s: float | None) -> _Entry | None:
        entry = self._entries.get(secret_id)
        if entry is None:
            return None
        now = self._clock()
        if max_age_s is None:
            return entry if now < entry.due_at else None
        return entry if now - entry.read_at < max_age_s else None

    async def _shared_read(self, secret_id: str, max_age_s: float | None) -> _Entry:
        loop = asyncio.get_running_loop()
        future = self._inflight.get(secret_id)
        if future is None or future.get_loop() is not loop:
            future = asyncio.ensure_future(asyncio.to_thread(self._entry, secret_id, max_age_s))
            self._inflight[secret_id] = future
            future.add_done_callback(lambda done: self._inflight.pop(secret_id, None)
                                     if self._inflight.get(secret_id) is done else None)
        return await asyncio.shield(future)

    def _entry(self, secret_id: str, max_age_s: float | None) -> _Entry:
        entry = self._fresh(secret_id, max_age_s)
        if entry is not None:
            return entry
        with self._lock:  # one read at a time; whoever waited finds it done
            entry = self._fresh(secret_id, max_age_s)
            if entry is not None:
                return entry
            return self._read(secret_id)

    def _read(self, secret_id: str) -> _Entry:
        entry = self._entries.get(secret_id)
        now = self._clock()
        if entry is None and now < self._failed_until.get(secret_id, float("-inf")):
            raise SecretUnavailable(f"the secret {secret_id} could not be read recently")
        try:
            value = self._fetch(secret_id)
        except Exception as exc:  # noqa: BLE001 (any failure: keep what we had, try again after retry_s)
            log.warning("could not read the secret %s: %s", secret_id, type(exc).__name__)
            if entry is None:
                self._failed_until[secret_id] = now + self.retry_s
                raise SecretUnavailable(f"the secret {secret_id} could not be read ({type(exc).__name__})") from None
            entry = self._entries[secret_id] = _Entry(entry.value, entry.read_at, now + self.retry_s, entry.previous,
                                                      entry.previous_until)
            return entry
        self._failed_until.pop(secret_id, None)
        previous, previous_until = (entry.previous, entry.previous_until) if entry else (None, float("-inf"))
        if entry is not None and value != entry.value:
            log.info("the secret %s has a new value", secret_id)
            previous, previous_until = entry.value, now + self.grace_s
        # A new entry, swapped in whole: lock-free readers never see half an update.
        entry = self._entries[secret_id] = _Entry(value, now, now + self.ttl_s, previous, previous_until)
        return entry
