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


class Lease:
    def __init__(self, table: str, name: str, *, key_attribute: str = "modelId", ttl: float = 120.0,
                 timeout: float = 300.0) -> None:
        self.table = Table(table)
        self.key = {key_attribute: f"#lease/{name}"}
        self.ttl = ttl
        self.timeout = timeout
        self.owner = uuid.uuid4().hex

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
        """Push the expiry out by `ttl` again; False when the lease was lost (expired and taken by another)."""
        return self._try_acquire()

    def keep_alive(self) -> threading.Event:
        """Renew every ttl/3 in a daemon thread until the returned event is set (held through long work)."""
        stop = threading.Event()

        def renew_until_stopped() -> None:
            while not stop.wait(self.ttl / 3):
                try:
                    self.renew()
                except Exception:  # noqa: BLE001 (a missed renewal is retried; the ttl leaves room for two)
                    pass

        threading.Thread(target=renew_until_stopped, name=f"lease-{self.key}", daemon=True).start()
        return stop

    def release(self) -> None:
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
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
