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
from typing import Any

from botocore.exceptions import ClientError

from core import aws


class LeaseTimeout(TimeoutError):
    pass


class Lease:
    def __init__(self, table: str, name: str, *, key_attribute: str = "modelId", ttl: float = 120.0,
                 timeout: float = 300.0) -> None:
        self.table = table
        self.key = {key_attribute: {"S": f"#lease/{name}"}}
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
            aws.client("dynamodb").delete_item(
                TableName=self.table, Key=self.key, ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":me": {"S": self.owner}},
            )
        except ClientError as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":  # expired and taken over: not ours to free
                raise

    def _try_acquire(self) -> bool:
        now = time.time()
        item: dict[str, Any] = {**self.key, "owner": {"S": self.owner}, "expires": {"N": repr(now + self.ttl)}}
        try:
            aws.client("dynamodb").put_item(
                TableName=self.table, Item=item,
                ConditionExpression="attribute_not_exists(#o) OR #e < :now OR #o = :me",
                ExpressionAttributeNames={"#o": "owner", "#e": "expires"},
                ExpressionAttributeValues={":now": {"N": repr(now)}, ":me": {"S": self.owner}},
            )
            return True
        except ClientError as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
