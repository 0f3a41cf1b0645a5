"""tests/fixtures/eventually.py: returns the first truthy value, names what it waited for at the deadline."""

from __future__ import annotations

import time

import pytest

from tests.fixtures.eventually import eventually


def test_returns_the_first_truthy_value():
    values = iter([0, None, "", "ready"])
    assert eventually(lambda: next(values), 5, "a value") == "ready"


class Unsettled:
    """A falsy answer that says what it saw."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "status Creating"


def test_at_the_deadline_names_what_and_the_last_value():
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"the model settled: not within 0.2 s \(last: status Creating\)"):
        eventually(Unsettled, 0.2, "the model settled")
    assert 0.2 <= time.monotonic() - started < 2


def test_exceptions_count_as_not_yet_and_the_last_is_named():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("refused")
        return len(calls)

    assert eventually(flaky, 5, "the server") == 3
    with pytest.raises(AssertionError, match="ConnectionError"):
        eventually(lambda: (_ for _ in ()).throw(ConnectionError("refused")), 0.1, "the server")


def test_an_exception_not_ignored_propagates_at_once():
    with pytest.raises(RuntimeError):
        eventually(lambda: (_ for _ in ()).throw(RuntimeError("exited")), 5, "the server", ignore=(ConnectionError,))
