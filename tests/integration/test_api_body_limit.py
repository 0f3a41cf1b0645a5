"""Every api body is counted as it arrives: past its route's limit it is a 413, chunked or not (hardening M3)."""

from __future__ import annotations

from tests.fixtures.rag import SESSIONS_MAX_BYTES  # the api_server fixture sets it


def chunked(total: int, head: bytes = b'{"fileName": "a.txt", "pad": "', piece: int = 64 * 1024):
    """A JSON body sent with Transfer-Encoding: chunked (a generator body), so no Content-Length tells the size."""
    yield head
    sent = len(head)
    while sent < total:
        yield b"x" * piece
        sent += piece
    yield b'"}'


def test_a_chunked_body_past_the_default_limit_is_413(api_server, as_user):
    response = as_user("alice").post(f"{api_server}/repository/presigned-url", data=chunked(2 << 20), timeout=60,
                                     headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "RequestTooLargeError"


def test_a_declared_length_past_the_limit_is_refused_before_reading(api_server, as_user):
    body = b'{"fileName": "a.txt", "pad": "' + b"x" * (2 << 20) + b'"}'
    response = as_user("alice").post(f"{api_server}/repository/presigned-url", data=body, timeout=60,
                                     headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_a_chunked_session_past_its_limit_is_413_and_nothing_is_saved(api_server, as_user):
    head = b'{"messages": [{"role": "user", "content": "'
    response = as_user("alice").put(f"{api_server}/session/too-big-chunked", timeout=60,
                                    data=chunked(SESSIONS_MAX_BYTES + (1 << 20), head=head),
                                    headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert as_user("alice").get(f"{api_server}/session/too-big-chunked", timeout=30).status_code == 404


def test_bodies_within_the_limit_still_work(api_server, as_user):
    response = as_user("alice").put(f"{api_server}/session/fits", timeout=60,
                                    json={"messages": [{"role": "user", "content": "x" * (2 << 20)}]})
    assert response.status_code == 200

