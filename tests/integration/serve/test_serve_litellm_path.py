"""The LiteLLM path (Bedrock, SageMaker, … in production): the same OpenAI contract, chunks made OpenAI-exact."""

from __future__ import annotations

import json

import openai
import pytest
import requests

from tests.integration.serve.conftest import assert_leaving_client_cancels_upstream


@pytest.fixture(scope="module")
def client(litellm_gateway, user_token) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{litellm_gateway}/v2/serve", api_key=user_token, max_retries=0, timeout=20)


def test_chat_through_litellm(client):
    reply = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "via litellm"}])
    assert reply.choices[0].message.content == "Echo: via litellm"


def test_stream_through_litellm_is_openai_exact(litellm_gateway, user_token):
    response = requests.post(f"{litellm_gateway}/v2/serve/chat/completions", stream=True, timeout=20,
                             headers={"Authorization": f"Bearer {user_token}"},
                             json={"model": "chat", "stream": True, "stream_options": {"include_usage": True},
                                   "messages": [{"role": "user", "content": "one two"}]})
    events = [e.removeprefix(b"data: ") for e in b"".join(response.iter_content(None)).split(b"\n\n") if e]
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len({c["id"] for c in chunks}) == 1 and all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]] == ["stop"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert all("usage" not in c for c in chunks[:-1])
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "Echo: one two"


def test_stream_without_include_usage_has_no_usage_chunk(client):
    chunks = list(client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}], stream=True))
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)


def test_embeddings_through_litellm(client):
    result = client.embeddings.create(model="embed", input=["a"])
    assert len(result.data[0].embedding) == 16


def test_completions_through_litellm(client):
    assert client.completions.create(model="chat", prompt="p").choices[0].text == "Echo: p"


def test_down_upstream_through_litellm_is_502(litellm_gateway, user_token):
    response = requests.post(f"{litellm_gateway}/v2/serve/chat/completions", timeout=30,
                             headers={"Authorization": f"Bearer {user_token}"},
                             json={"model": "down", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 502 and response.json()["error"]["type"] == "server_error"


def test_rate_limit_through_litellm_keeps_429(litellm_gateway, user_token):
    response = requests.post(f"{litellm_gateway}/v2/serve/chat/completions", timeout=30,
                             headers={"Authorization": f"Bearer {user_token}"},
                             json={"model": "limited", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 429


def test_client_disconnect_cancels_the_upstream_stream_through_litellm(litellm_gateway, user_token, stand_in_stats):
    assert_leaving_client_cancels_upstream(litellm_gateway, user_token, stand_in_stats)
