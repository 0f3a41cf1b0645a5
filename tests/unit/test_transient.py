"""core.transient: which AWS failures are worth another try, and the retry's budget."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from core.transient import is_transient, retry_transient


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize("exc", [client_error("ThrottlingException"), client_error("InternalServerError", 500),
                                 client_error("Whatever", 503), EndpointConnectionError(endpoint_url="http://x")])
def test_throttles_server_errors_and_lost_connections_are_transient(exc):
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [client_error("ConditionalCheckFailedException"), client_error("AccessDenied", 403),
                                 ValueError("no")])
def test_refusals_that_would_repeat_are_not(exc):
    assert not is_transient(exc)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_call_that_fails_transiently_is_repeated_until_it_succeeds():
    clock, calls = Clock(), []

    def call() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise client_error("ThrottlingException")
        return "done"

    assert retry_transient(call, budget_s=60, sleep=clock.sleep, clock=lambda: clock.now) == "done"
    assert len(calls) == 4 and len(clock.slept) == 3
    assert clock.slept[1] > clock.slept[0] * 0.5  # backing off, not hammering


def test_the_last_error_is_raised_once_the_budget_is_spent():
    clock = Clock()

    def call() -> None:
        raise client_error("ServiceUnavailable", 503)

    with pytest.raises(ClientError):
        retry_transient(call, budget_s=10, sleep=clock.sleep, clock=lambda: clock.now)
    assert clock.now <= 10


def test_a_lasting_refusal_is_raised_at_once():
    clock = Clock()
    with pytest.raises(ClientError):
        retry_transient(lambda: (_ for _ in ()).throw(client_error("AccessDenied", 403)), budget_s=60,
                        sleep=clock.sleep, clock=lambda: clock.now)
    assert clock.slept == []
