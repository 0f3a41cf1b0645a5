"""The local chat server as a real process on the real model, driven by openai-python and raw HTTP.

One server for the module, with one slot and one place in the queue (so the admission tests can fill them), a
small context (so an over-long conversation is cheap to send) and an API key. Answers are kept to a few tokens:
the model does about 20-40 tokens/s on this machine's two cores.
"""

from __future__ import annotations

import sys
import threading
from typing import Iterator

import httpx
import openai
import pytest
import requests

from tests.fixtures import processes
from tests.fixtures.eventually import eventually

KEY = "sk-local-chat"
AUTH = {"authorization": f"Bearer {KEY}"}
LONG_STORY = [{"role": "user", "content": "Write a very long story about a dragon who learns to bake bread."}]


@pytest.fixture(scope="module")
def chat_server(test_output) -> Iterator[str]:
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"LISA_GENERATION_API_KEY": KEY, "LISA_GENERATION_PARALLEL": "1", "LISA_GENERATION_QUEUE": "1",
           "LISA_GENERATION_CONTEXT_TOKENS": "512", "LISA_GENERATION_MAX_BODY_KIB": "64"}
    with processes.server([sys.executable, "-m", "services.generation", "--port", str(port)], f"{base}/health",
                          env=env, log=test_output / "generation-server.log", timeout=120):
        yield base


@pytest.fixture(scope="module")
def client(chat_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{chat_server}/v1", api_key=KEY, max_retries=0, timeout=60)


def health(base: str) -> dict:
    return requests.get(f"{base}/health", timeout=5).json()


def ask(client: openai.OpenAI, content: str, **options):
    return client.chat.completions.create(model="local", messages=[{"role": "user", "content": content}], **options)


def test_an_answer_comes_with_its_usage(client):
    result = ask(client, "What is the capital of France?", max_tokens=12)
    choice = result.choices[0]
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert result.model == "smollm2-135m-instruct" and result.object == "chat.completion"
    assert result.usage.prompt_tokens > 10 and 0 < result.usage.completion_tokens <= 12
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens


def test_a_stream_is_the_same_answer_in_openais_chunks(client):
    options = {"max_tokens": 16, "temperature": 0}
    whole = ask(client, "Name three colours.", **options)
    chunks = list(ask(client, "Name three colours.", stream=True, stream_options={"include_usage": True}, **options))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1 and all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [whole.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_the_raw_stream_ends_with_done(chat_server):
    with requests.post(f"{chat_server}/v1/chat/completions", headers=AUTH, stream=True, timeout=60,
                       json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == b"data: [DONE]" and all(e.startswith(b"data: ") for e in events)


def test_max_tokens_bounds_the_answer(client):
    result = ask(client, "Write a long poem about the sea.", max_tokens=3)
    assert result.choices[0].finish_reason == "length" and result.usage.completion_tokens == 3


def test_a_stop_sequence_ends_the_answer_before_it(client):
    prompt, options = "Count from 1 to 10, separated by commas.", {"max_tokens": 40, "temperature": 0}
    free = ask(client, prompt, **options).choices[0].message.content
    assert "5" in free  # the answer would go past it...
    stopped = ask(client, prompt, stop=["5"], **options).choices[0]
    assert stopped.finish_reason == "stop" and "5" not in stopped.message.content  # ...and ends there instead
    assert free.startswith(stopped.message.content)


def test_offered_tools_still_get_an_answer(client):
    tools = [{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]
    result = ask(client, "Hello", max_tokens=4, tools=tools, tool_choice="auto")
    assert result.choices[0].message.content and not result.choices[0].message.tool_calls


def test_the_serve_gateway_routes_chat_to_it_whole_and_streamed(platform, chat_server, test_output):
    from core.models import ModelType
    from tests.fixtures.rag import register_model
    from tests.fixtures.serve import wait_routable
    from tests.fixtures.stage import TEST_MASTER_KEY

    outputs, _ = platform
    register_model(outputs, "local-chat", "smollm2-135m-instruct", f"{chat_server}/v1", ModelType.TEXTGEN, api_key=KEY)
    with processes.serve_app(outputs.model_dump_json(), log=test_output / "generation-serve-gateway.log") as (base, _):
        wait_routable(base, ["local-chat"], TEST_MASTER_KEY)
        gateway = openai.OpenAI(base_url=f"{base}/v2/serve", api_key=TEST_MASTER_KEY, max_retries=0, timeout=60)
        options = {"model": "local-chat", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}
        whole = gateway.chat.completions.create(**options)
        chunks = list(gateway.chat.completions.create(**options, stream=True, stream_options={"include_usage": True}))
    assert whole.choices[0].message.content and whole.usage.completion_tokens <= 4
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) and chunks[-1].usage is not None


def test_models_lists_the_served_model(client):
    assert [m.id for m in client.models.list().data] == ["smollm2-135m-instruct"]


def test_without_the_api_key_requests_are_refused(chat_server):
    chat = requests.post(f"{chat_server}/v1/chat/completions", json={"messages": LONG_STORY}, timeout=10)
    models = requests.get(f"{chat_server}/v1/models", timeout=10)
    assert chat.status_code == models.status_code == 401 and chat.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize("body, status, param", [
    (b"{nope", 400, None),
    (b'{"messages": [{"role": "user", "content": "x"}], "n": 2}', 400, "n"),
    (b'{"messages": [{"role": "user", "content": "x"}], "temperature": 9}', 400, "temperature"),
    (b'{"messages": [{"role": "user", "content": "' + b"x" * 70_000 + b'"}]}', 413, None),
])
def test_bad_requests_get_openai_errors(chat_server, body, status, param):
    response = requests.post(f"{chat_server}/v1/chat/completions", data=body, headers=AUTH, timeout=10)
    assert response.status_code == status and response.json()["error"]["param"] == param


@pytest.mark.parametrize("stream", [False, True])
def test_a_conversation_longer_than_the_context_is_a_400(client, stream):
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, "word " * 700, max_tokens=5, stream=stream)  # the server's context is 512 tokens
    assert info.value.code == "context_length_exceeded"


def test_a_full_queue_is_a_429_and_a_client_that_leaves_stops_its_answer(chat_server):
    short = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3}
    queued: dict = {}
    with httpx.Client(base_url=chat_server, headers=AUTH, timeout=60) as http:
        with http.stream("POST", "/v1/chat/completions", json={"messages": LONG_STORY, "max_tokens": 1000,
                                                                "stream": True}) as running:
            lines = running.iter_lines()  # kept: dropping the iterator closes the connection
            next(lines)  # the one slot is generating a long answer
            waiter = threading.Thread(target=lambda: queued.update(response=requests.post(
                f"{chat_server}/v1/chat/completions", headers=AUTH, json=short, timeout=120)))
            waiter.start()
            eventually(lambda: health(chat_server)["waiting"] == 1, 20, "the queue's one place taken")
            refused = requests.post(f"{chat_server}/v1/chat/completions", headers=AUTH, json=short, timeout=10)
            assert refused.status_code == 429 and refused.headers["retry-after"]
            assert refused.json()["error"]["code"] == "rate_limit_exceeded"
            cancelled = health(chat_server)["answers"].get("cancelled", 0)
        # The long answer's client has gone: it stops at its next token (not 1000 tokens later) and the queued one runs.
        eventually(lambda: health(chat_server)["answers"].get("cancelled", 0) == cancelled + 1, 20,
                   "the answer counted as cancelled")
    waiter.join(60)
    assert queued["response"].status_code == 200 and queued["response"].json()["usage"]["completion_tokens"] <= 3


def test_a_client_that_leaves_the_queue_gives_its_place_back(chat_server):
    gave_up: list[bool] = []

    def give_up_waiting() -> None:
        try:  # the client stops waiting after 2 s and disconnects
            requests.post(f"{chat_server}/v1/chat/completions", headers=AUTH, timeout=(5, 2),
                          json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3})
        except requests.Timeout:
            gave_up.append(True)

    body = {"messages": LONG_STORY, "max_tokens": 1000, "stream": True}
    with httpx.Client(base_url=chat_server, headers=AUTH, timeout=60) as http:
        with http.stream("POST", "/v1/chat/completions", json=body) as running:
            lines = running.iter_lines()
            next(lines)
            impatient = threading.Thread(target=give_up_waiting)
            impatient.start()
            eventually(lambda: health(chat_server)["waiting"] == 1, 20, "one request waiting")
            impatient.join(30)
            assert gave_up == [True]
            eventually(lambda: health(chat_server)["waiting"] == 0, 20, "no request waiting")
            assert health(chat_server)["running"] == 1  # the long answer goes on
