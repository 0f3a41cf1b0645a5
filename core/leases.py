"""A named, expiring lock held as one item of a DynamoDB table (conditional writes, no extra infrastructure).

For the few read-modify-write calls AWS offers no atomic form of, made from several processes at once (e.g. the
shared GPU cluster's capacity-provider list, which every model stack edits). The lease expires on its own, so a
holder that dies frees it after `ttl` seconds. Items are keyed `#lease/<name>` under the table's hash key; readers
of the table skip keys starting with `#`.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from core.dynamo import ConditionFailed, Table


class LeaseTimeout(TimeoutError):
    pass


class LeaseLost(RuntimeError):
    """The lease expired and another holder took it, or it could not be renewed before it expired: stop the work."""


class Renewal:
    """Renews a held lease every ttl/3 in a daemon thread until stopped, and says when it was lost.

    A renewal that fails transiently is tried again at the next tick; once no renewal has succeeded for a whole
    ttl, another holder may have the lease, so it counts as lost as surely as a refused renewal does.
    """

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{lease.key}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        renewed = time.monotonic()
        while not self._stop.wait(self.lease.ttl / 3):
            try:
                if not self.lease.renew():
                    self.lost.set()
                    return
                renewed = time.monotonic()
            except Exception:  # noqa: BLE001 (transient: the next tick tries again, within the ttl)
                if time.monotonic() - renewed >= self.lease.ttl:
                    self.lost.set()
                    return

    def check(self) -> None:
        """Raise LeaseLost if the lease is no longer ours (call between steps of the guarded work)."""
        if self.lost.is_set():
            raise LeaseLost(f"the lease {self.lease.key} was lost; the work under it stopped")

    def stop(self) -> None:
        self._stop.set()


class Lease:
    """Take it with `acquire()` (or `with lease:`, which also keeps it renewed and releases it at the end)."""

    def __init__(self, table: str, name: str, *, key_attribute: str = "modelId", ttl: float = 120.0,
                 timeout: float = 300.0) -> None:
        self.table = Table(table)
        self.key = {key_attribute: f"#lease/{name}"}
        self.ttl = ttl
        self.timeout = timeout
        self.owner = uuid.uuid4().hex
        self.renewal: Renewal | None = None

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout
        delay = 0.05
        while not self._try_acquire():
            if time.monotonic() > deadline:
                raise LeaseTimeout(f"could not take the lease {self.key} within {self.timeout:.0f}s")
            # Holders keep it for a few calls only: poll often (with jitter) rather than back off far.
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 1.5, 0.25)

    def renew(self) -> bool:
        """Push the expiry out by `ttl` again; False when the lease is no longer ours (released, or taken over)."""
        try:
            self.table.update(self.key, set={"expires": time.time() + self.ttl}, condition="#o = :me",
                              names={"#o": "owner"}, values={":me": self.owner})
        except ConditionFailed:
            return False
        return True

    def keep_alive(self) -> Renewal:
        """Renew every ttl/3 until the returned Renewal is stopped (held through long work); `.lost` says when not."""
        self.renewal = Renewal(self)
        return self.renewal

    def check(self) -> None:
        """LeaseLost when the renewal found the lease gone (only while kept alive)."""
        if self.renewal is not None:
            self.renewal.check()

    def release(self) -> None:
        if self.renewal is not None:
            self.renewal.stop()
            self.renewal = None
        try:
            self.table.delete(self.key, condition="#o = :me", names={"#o": "owner"}, values={":me": self.owner})
        except ConditionFailed:  # expired and taken over: not ours to free
            pass

    def _try_acquire(self) -> bool:
        now = time.time()
        try:
            self.table.put({**self.key, "owner": self.owner, "expires": now + self.ttl},
                           condition="attribute_not_exists(#o) OR #e < :now OR #o = :me",
                           names={"#o": "owner", "#e": "expires"}, values={":now": now, ":me": self.owner})
        except ConditionFailed:
            return False
        return True

    def __enter__(self) -> Lease:
        self.acquire()
        self.keep_alive()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
