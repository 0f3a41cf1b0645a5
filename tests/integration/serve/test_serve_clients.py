"""OpenAI clients run unmodified against the gateway: only base_url and the API key change."""

from __future__ import annotations

import asyncio

import openai
import pytest


@pytest.fixture(scope="module")
def client(gateway: str, user_token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway}/v2/serve", api_key=user_token, max_retries=0)


@pytest.fixture
def async_client(gateway: str, user_token: str):
    """A factory: an AsyncOpenAI client belongs to the event loop it is used in."""
    return lambda: openai.AsyncOpenAI(base_url=f"{gateway}/v2/serve", api_key=user_token, max_retries=0)


def test_models_list_shows_registered_models(client):
    ids = {m.id for m in client.models.list()}
    assert {"chat", "embed", "keyed"} <= ids


def test_models_list_carries_lisa_metadata(gateway, user_token):
    import requests

    body = requests.get(f"{gateway}/v2/serve/models", headers={"Authorization": f"Bearer {user_token}"}, timeout=10).json()
    meta = {m["id"]: m["lisa"] for m in body["data"]}
    assert meta["embed"] == {"modelType": "embedding", "streaming": False, "static": False}
    assert meta["chat"]["modelType"] == "textgen"


def test_model_retrieve_returns_the_model(client):
    assert client.models.retrieve("chat").id == "chat"


def test_sync_chat_completion(client):
    reply = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hello gateway"}])
    assert reply.choices[0].message.content == "Echo: hello gateway"
    assert reply.choices[0].finish_reason == "stop" and reply.usage.total_tokens > 0


def test_async_chat_completion(async_client):
    async def run():
        client = async_client()
        replies = await asyncio.gather(*[
            client.chat.completions.create(model="chat", messages=[{"role": "user", "content": f"n{i}"}])
            for i in range(8)])
        return [r.choices[0].message.content for r in replies]

    assert asyncio.run(run()) == [f"Echo: n{i}" for i in range(8)]


def test_streaming_chat_with_include_usage(client):
    stream = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "one two three"}],
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: one two three"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4


def test_streaming_without_include_usage_has_no_usage_chunk(client):
    chunks = list(client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)


def test_completions(client):
    reply = client.completions.create(model="chat", prompt="say this")
    assert reply.choices[0].text == "Echo: say this"


def test_embeddings(client):
    result = client.embeddings.create(model="embed", input=["a", "b"])
    assert [d.index for d in result.data] == [0, 1] and len(result.data[0].embedding) == 16


def test_async_streaming(async_client):
    async def run():
        stream = await async_client().chat.completions.create(model="chat", messages=[{"role": "user", "content": "x y"}],
                                                            stream=True)
        return "".join([c.choices[0].delta.content or "" async for c in stream])

    assert asyncio.run(run()) == "Echo: x y"


def test_v1_and_root_prefixes_answer_too(gateway, user_token):
    for base in (f"{gateway}/v1", gateway):
        client = openai.OpenAI(base_url=base, api_key=user_token, max_retries=0)
        assert client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "p"}]).choices[0].message.content == "Echo: p"


def test_langchain_chat_openai(gateway, user_token):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model="chat", base_url=f"{gateway}/v2/serve", api_key=user_token, max_retries=0)
    assert llm.invoke("hello langchain").content == "Echo: hello langchain"
    assert "".join(c.content for c in llm.stream("streamed words")) == "Echo: streamed words"


def test_langchain_openai_embeddings(gateway, user_token):
    from langchain_openai import OpenAIEmbeddings

    embeddings = OpenAIEmbeddings(model="embed", base_url=f"{gateway}/v2/serve", api_key=user_token,
                                  check_embedding_ctx_length=False, max_retries=0)
    vectors = embeddings.embed_documents(["first", "second"])
    assert len(vectors) == 2 and len(vectors[0]) == 16 and vectors[0] != vectors[1]


def test_upstream_api_key_and_extra_headers_are_sent(client, stand_in_stats, model_api_key):
    client.chat.completions.create(model="keyed", messages=[{"role": "user", "content": "k"}])
    last = stand_in_stats()["last_request"]
    assert last["authorization"] == f"Bearer {model_api_key[1]}"


def test_client_credential_is_never_forwarded_upstream(client, stand_in_stats, user_token):
    client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "k"}])
    assert user_token not in stand_in_stats()["last_request"]["authorization"]


def test_stream_chunks_are_forwarded_as_the_upstream_sends_them(client):
    import time

    started = time.monotonic()
    stream = client.chat.completions.create(model="drip", messages=[{"role": "user", "content": "a b c d e f g"}],
                                            stream=True)
    arrivals = [time.monotonic() - started for _ in stream]
    # The stand-in waits 200 ms after each chunk: a buffering gateway would deliver everything at the end.
    assert arrivals[-1] > 1.2 and arrivals[0] < arrivals[-1] - 1.0
