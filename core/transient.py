"""Transient AWS failures, and retrying through them with backoff.

botocore already retries each call a few times (core/aws.py); this is the next layer up, for work that must not
stop at the first outage of a minute (a deployment job's lease, record read and final status write): the call is
repeated with jittered exponential backoff until it succeeds, fails for a reason that is not transient, or the
budget is spent, and then the last error is raised for the caller to record.
"""

from __future__ import annotations

import random
import time
from typing import Callable, Iterator, TypeVar

from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, HTTPClientError

from core import aws

T = TypeVar("T")

# Codes AWS uses for "try again": throttling, a service briefly unavailable, an internal error on its side.
TRANSIENT_CODES = frozenset({
    "InternalError", "InternalFailure", "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException",
    "ThrottlingException", "Throttling", "ThrottledException", "RequestLimitExceeded", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "RequestThrottled", "RequestThrottledException", "SlowDown",
    "TransactionInProgressException", "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    "EC2ThrottledException",
})


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is worth another try: a throttle, a 5xx, or the connection to AWS failing."""
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return aws.error_code(exc) in TRANSIENT_CODES or status >= 500
    return False


def backoff_delays(first: float = 0.2, cap: float = 5.0) -> Iterator[float]:
    """first, 2×first, 4×first … up to `cap`, each with ±50 % jitter (so retrying processes spread apart)."""
    delay = first
    while True:
        yield delay * (0.5 + random.random())
        delay = min(delay * 2, cap)


def retry_transient(call: Callable[[], T], *, budget_s: float, on_retry: Callable[[BaseException, float], None] | None = None,
                    sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> T:
    """`call()`, repeated while it fails transiently and `budget_s` seconds have not passed; else its last error."""
    deadline = clock() + budget_s
    delays = backoff_delays()
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_transient(exc):
                raise
            delay = next(delays)
            if clock() + delay > deadline:
                raise
            if on_retry is not None:
                on_retry(exc, delay)
            sleep(delay)

