"""Serve answers any body without a server error, on both inference paths (hardening: fuzzing as a habit).

Serve has no OpenAPI of its own: the bodies come from hypothesis strategies derived from its allow-lists
(tests/fixtures/openai_strategies.py): bodies within them are answered (through LiteLLM, or refused with a 400 where
the provider does not take a field), a field out of its type or range and an
unknown field are refused with a 400 naming them, and arbitrary JSON, broken JSON, huge and deeply nested values and
wrong methods get a 4xx in OpenAI's error object, never a 5xx. Each property runs with a fixed seed
(`derandomize`) and LISA_SERVE_FUZZ_EXAMPLES examples (make test: a bounded number; make fuzz: many more).
"""

from __future__ import annotations

import os

import orjson
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.openai_requests import CHAT, COMPLETIONS, EMBEDDINGS, ENDPOINTS
from tests.fixtures.openai_strategies import (MODELS_BY_ENDPOINT, any_json, invalid_field, unknown_field,
                                              valid_body)

EXAMPLES = int(os.environ.get("LISA_SERVE_FUZZ_EXAMPLES", "10"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
PATHS = ["pass-through", "litellm"]
PREFIXES = ["/v2/serve", "/v1", ""]
JSON_MAX_DEPTH = 1024  # orjson's: serve refuses deeper JSON as not JSON
MAX_BODY = 32 << 20  # serve's default max_body_mib


@pytest.fixture(scope="module")
def bases(gateway, litellm_gateway, models) -> dict[str, str]:
    """Each inference path's gateway: pass-through to the stand-in, and every model through LiteLLM's Router."""
    return {"pass-through": gateway, "litellm": litellm_gateway}


@pytest.fixture(scope="module")
def client(user_token) -> requests.Session:
    session = requests.Session()  # kept-alive connections: thousands of requests in seconds
    session.headers["authorization"] = f"Bearer {user_token}"
    return session


def post(client: requests.Session, base: str, endpoint: str, body: dict | bytes, *, prefix: str = "/v2/serve",
         stream: bool = False) -> requests.Response:
    data = body if isinstance(body, bytes) else orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    response = client.post(f"{base}{prefix}/{endpoint}", data=data, timeout=60, stream=stream,
                           headers={"content-type": "application/json"})
    if stream:
        response._content = response.raw.read()  # the whole event stream (or error), then the connection is free
    return response


def assert_openai_error(response: requests.Response, status: int | None = None) -> dict:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    if status is not None:
        assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and {"param", "code"} <= set(error)
    return error


def assert_answered(response: requests.Response, endpoint: str, streamed: bool, path: str) -> None:
    if path == "litellm" and response.status_code == 400:
        # LiteLLM refuses what its provider does not take (`verbosity` for an OpenAI model, `dimensions` for an
        # embedding model, streamed completions): a client's mistake for that model, in OpenAI's error object.
        assert assert_openai_error(response)["type"] == "invalid_request_error"
        return
    assert response.status_code == 200, f"{response.status_code}: {response.text[:500]}"
    if streamed:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.content.split(b"\n") if line.startswith(b"data: ")]  # SSE is UTF-8
        assert events[-1].rstrip(b"\r") == b"data: [DONE]", response.content[-300:]
        assert all(orjson.loads(e.removeprefix(b"data: ")) for e in events[:-1])
    else:
        answer = response.json()
        assert answer["data" if endpoint == EMBEDDINGS else "choices"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(data=st.data())
def test_a_body_within_the_allow_list_is_answered(bases, client, path, endpoint, data):
    body = data.draw(valid_body(endpoint, MODELS_BY_ENDPOINT[endpoint]), label="body")
    streamed = bool(body.get("stream"))
    assert_answered(post(client, bases[path], endpoint, body, stream=streamed), endpoint, streamed, path)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(data=st.data())
def test_a_field_out_of_its_type_or_range_is_refused_naming_it(bases, client, path, endpoint, data):
    field, body = data.draw(invalid_field(endpoint, MODELS_BY_ENDPOINT[endpoint]), label="field, body")
    error = assert_openai_error(post(client, bases[path], endpoint, body), 400)
    assert error["type"] == "invalid_request_error"
    assert (error["param"] or "").startswith(field), error


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(data=st.data())
def test_an_unknown_field_is_refused_naming_it(bases, client, path, endpoint, data):
    field, body = data.draw(unknown_field(endpoint, MODELS_BY_ENDPOINT[endpoint]), label="field, body")
    error = assert_openai_error(post(client, bases[path], endpoint, body), 400)
    assert error["param"] == field and error["code"] == "unknown_parameter", error


def _mangled(endpoint: str) -> st.SearchStrategy[bytes]:
    """Bodies nobody designed: arbitrary JSON (also under the endpoint's own field names), bytes, cut-off JSON."""
    model = MODELS_BY_ENDPOINT[endpoint]
    valid = valid_body(endpoint, model, stream=False).map(orjson.dumps)
    names = st.sampled_from(sorted({"model", "messages", "prompt", "input", "stream", "tools", "n", "stop"}))
    return st.one_of(
        any_json().map(lambda v: orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS)),
        st.dictionaries(names, any_json(8), max_size=5).map(lambda d: orjson.dumps({"model": model, **d})),
        st.binary(max_size=200),
        st.tuples(valid, st.integers(0, 200)).map(lambda t: t[0][: t[1]]),
        st.text(max_size=100).map(str.encode),
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(data=st.data())
def test_any_json_or_bytes_gets_an_answer_never_a_server_error(bases, client, path, endpoint, data):
    body = data.draw(_mangled(endpoint), label="body")
    response = post(client, bases[path], endpoint, body, stream=True)
    if response.status_code != 200:
        assert_openai_error(response)


@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(depth=st.integers(100, 100_000), kind=st.sampled_from(["array", "object"]),
       field=st.sampled_from(["messages", "tools", "stop", "content", "unknown"]))
def test_deeply_nested_values_are_refused_not_a_crash(bases, client, path, depth, kind, field):
    nested = ("[" * depth + "]" * depth) if kind == "array" else ('{"a":' * depth + "1" + "}" * depth)
    messages = '[{"role":"user","content":' + nested + "}]" if field == "content" else '[{"role":"user","content":"hi"}]'
    extra = "" if field in ("messages", "content") else f', "{field}": {nested}'
    messages = nested if field == "messages" else messages
    body = f'{{"model":"chat","messages":{messages}{extra}}}'.encode()
    response = post(client, bases[path], CHAT, body)
    if depth > JSON_MAX_DEPTH or field != "content":
        assert_openai_error(response, 400)  # past the parser's depth, or not what the field may hold
    elif response.status_code != 200:  # content parts are the upstream's to read
        assert_openai_error(response, 400)


@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(size=st.integers(1 << 10, 2 << 20), where=st.sampled_from(["content", "user", "stop", "tool-name", "messages",
                                                                   "max_tokens", "seed", "dimensions"]))
def test_huge_values_get_an_answer_never_a_server_error(bases, client, path, size, where):
    text = "word " * (size // 5)
    endpoint, body = CHAT, {"model": "chat", "messages": [{"role": "user", "content": text if where == "content" else "hi"}]}
    if where == "user":
        body["user"] = text
    elif where == "stop":
        body["stop"] = [text]
    elif where == "tool-name":
        body["tools"] = [{"type": "function", "function": {"name": text}}]
    elif where == "messages":
        body["messages"] = [{"role": "user", "content": "hi"}] * (size // 64)
    elif where in ("max_tokens", "seed"):
        body[where] = size ** 3  # past 32 bits; orjson's 64-bit limit is the mangled-bodies property's
    else:
        endpoint, body = EMBEDDINGS, {"model": "embed", "input": "hi", "dimensions": size}
    response = post(client, bases[path], endpoint, body)
    if response.status_code != 200:
        assert_openai_error(response, 400)


def test_a_body_past_the_limit_is_refused_with_413(bases, client):
    # Just past the limit, so what serve leaves unread fits in the socket's buffers.
    body = b'{"model":"chat","messages":[{"role":"user","content":"' + b"x" * MAX_BODY + b'"}]}'
    for base in bases.values():
        assert_openai_error(post(client, base, CHAT, body), 413)


@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "HEAD", "POST"]),
       prefix=st.sampled_from(PREFIXES),
       route=st.sampled_from([CHAT, COMPLETIONS, EMBEDDINGS, "models", "models/chat", "health", "nowhere",
                              "chat/completions/x", "models/", "v3/chat/completions"]))
def test_a_wrong_method_or_path_gets_openais_404_or_405(bases, client, path, method, prefix, route):
    response = client.request(method, f"{bases[path]}{prefix}/{route}", data=b"{}", timeout=30)
    inference, reads = route in (CHAT, COMPLETIONS, EMBEDDINGS), route in ("models", "models/chat", "health")
    if (inference and method == "POST") or (reads and method == "GET"):
        assert response.status_code < 500, response.text[:300]
        return
    if method == "HEAD":
        assert response.status_code in (404, 405), response.status_code  # no body to read
        return
    assert_openai_error(response, 405 if inference or reads else 404)
