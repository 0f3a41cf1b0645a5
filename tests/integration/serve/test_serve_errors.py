"""Malformed requests and upstream faults: always OpenAI's error object, with the status the contract names."""

from __future__ import annotations

import time

import openai
import pytest
import requests

from tests.integration.serve.conftest import assert_leaving_client_cancels_upstream


@pytest.fixture(scope="module")
def post(gateway, user_token):
    def send(path: str, body=None, *, raw: bytes | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {user_token}", "Content-Type": "application/json"}
        data = raw if raw is not None else None
        return requests.post(f"{gateway}/v2/serve/{path}", json=body if raw is None else None, data=data,
                             headers=headers, timeout=30, **kwargs)

    return send


def _error(response: requests.Response) -> dict:
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def test_malformed_json_is_400_not_422(post):
    response = post("chat/completions", raw=b'{"model": "chat", "messages": [')
    assert response.status_code == 400 and _error(response)["type"] == "invalid_request_error"


def test_body_that_is_not_an_object_is_400(post):
    assert post("chat/completions", raw=b'["chat"]').status_code == 400


def test_missing_model_is_400_naming_the_param(post):
    response = post("chat/completions", CHAT)
    assert response.status_code == 400 and _error(response)["param"] == "model"


def test_missing_messages_is_400(post):
    response = post("chat/completions", {"model": "chat"})
    assert response.status_code == 400 and _error(response)["param"] == "messages"


def test_stream_that_is_not_a_boolean_is_400(post):
    assert post("chat/completions", {"model": "chat", "stream": "yes", **CHAT}).status_code == 400


def test_unknown_model_is_404_model_not_found(post):
    response = post("chat/completions", {"model": "no-such-model", **CHAT})
    assert response.status_code == 404 and _error(response)["code"] == "model_not_found"


def test_chat_on_an_embedding_model_is_400(post):
    response = post("chat/completions", {"model": "embed", **CHAT})
    assert response.status_code == 400 and _error(response)["param"] == "model"


def test_embeddings_on_a_chat_model_is_400(post):
    assert post("embeddings", {"model": "chat", "input": "x"}).status_code == 400


def test_unknown_path_is_an_openai_404(gateway):
    response = requests.get(f"{gateway}/v2/serve/nothing-here", timeout=5)
    assert response.status_code == 404 and _error(response)["code"] == "not_found"


def test_wrong_method_is_405(gateway, user_token):
    response = requests.get(f"{gateway}/v2/serve/chat/completions", headers={"Authorization": f"Bearer {user_token}"}, timeout=5)
    assert response.status_code == 405


def test_unknown_model_retrieve_is_404(gateway, user_token):
    response = requests.get(f"{gateway}/v1/models/nope", headers={"Authorization": f"Bearer {user_token}"}, timeout=5)
    assert response.status_code == 404 and _error(response)["code"] == "model_not_found"


# upstream faults
def test_upstream_down_is_502(post):
    response = post("chat/completions", {"model": "down", **CHAT})
    assert response.status_code == 502 and _error(response)["type"] == "server_error"


def test_upstream_slower_than_the_timeout_is_504(post):
    response = post("chat/completions", {"model": "slow", **CHAT})
    assert response.status_code == 504 and _error(response)["code"] == "upstream_timeout"


def test_upstream_garbage_body_is_502(post):
    response = post("chat/completions", {"model": "garbage", **CHAT})
    assert response.status_code == 502 and _error(response)["code"] == "upstream_invalid_response"


def test_upstream_429_passes_through_with_retry_after(post):
    response = post("chat/completions", {"model": "limited", **CHAT})
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert _error(response)["type"] == "rate_limit_error"


def test_upstream_503_passes_through_with_retry_after(post):
    response = post("chat/completions", {"model": "unavailable", **CHAT})
    assert response.status_code == 503 and response.headers["retry-after"] == "7"


def test_upstream_refusing_our_credentials_is_502_not_401(post):
    assert post("chat/completions", {"model": "refuses-us", **CHAT}).status_code == 502


def test_stream_cut_mid_way_ends_with_an_error_event(post):
    started = time.monotonic()
    response = post("chat/completions", {"model": "cut", "stream": True, **CHAT}, stream=True)
    body = b"".join(response.iter_content(None))
    assert response.status_code == 200 and time.monotonic() - started < 10
    events = [line for line in body.split(b"\n\n") if line.startswith(b"data:")]
    assert b'"error"' in events[-1] and b"[DONE]" not in body


def test_stream_cut_mid_way_raises_in_openai_python(gateway, user_token):
    client = openai.OpenAI(base_url=f"{gateway}/v2/serve", api_key=user_token, max_retries=0, timeout=10)
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(model="cut", messages=CHAT["messages"], stream=True):
            pass


def test_streaming_from_a_down_upstream_is_502_before_any_event(post):
    assert post("chat/completions", {"model": "down", "stream": True, **CHAT}).status_code == 502


def test_client_disconnect_cancels_the_upstream_stream(gateway, user_token, stand_in_stats):
    assert_leaving_client_cancels_upstream(gateway, user_token, stand_in_stats)
