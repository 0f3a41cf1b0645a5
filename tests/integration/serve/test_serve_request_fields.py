"""Nothing a caller sends reaches an upstream unless it is on the endpoint's allow-list (hardening H1), and OpenAI's
ranges are checked by serve whatever the upstream does; big answers neither stall nor exhaust serve (H2)."""

from __future__ import annotations

import time

import pytest
import requests

from core.models import ModelType
from core.registry import Registration
from tests.fixtures.serve import wait_routable

# Fields LiteLLM reads as deployment params: with them a caller could send the platform's request elsewhere.
STEERING_FIELDS = ("api_base", "base_url", "aws_bedrock_runtime_endpoint")
OTHER_REFUSED = ("api_key", "extra_headers", "custom_llm_provider", "mock_response", "metadata", "aws_region_name",
                 "timeout", "num_retries", "litellm_params", "model_list")
BEDROCK_MODEL = "bedrock-chat"


@pytest.fixture(scope="module")
def bedrock_model(registry, gateway, master_key) -> str:
    """A Bedrock model: LiteLLM signs its requests with the platform's AWS credentials."""
    registry.set_registration(BEDROCK_MODEL, None)
    from core.models import ModelRecord

    try:
        registry.create(ModelRecord(model_id=BEDROCK_MODEL, model_name="bedrock/anthropic.claude-3-haiku-20240307-v1:0"))
    except Exception:  # noqa: BLE001 (made by an earlier run of this module in the session)
        pass
    registry.set_registration(BEDROCK_MODEL, Registration(
        model_name=BEDROCK_MODEL, model_type=ModelType.TEXTGEN, streaming=True,
        litellm_params={"model": "bedrock/anthropic.claude-3-haiku-20240307-v1:0", "aws_region_name": "us-east-1"}))
    wait_routable(gateway, BEDROCK_MODEL, master_key, timeout=60)
    return BEDROCK_MODEL


@pytest.fixture(scope="module")
def paths(gateway, litellm_gateway, bedrock_model) -> dict[str, tuple[str, str]]:
    """Each inference path by name: (gateway base URL, model)."""
    return {"pass-through": (gateway, "chat"), "litellm": (litellm_gateway, "chat"),
            "litellm-bedrock": (gateway, bedrock_model)}


def _chat(base: str, token: str, model: str, **extra) -> requests.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}], **extra}
    return requests.post(f"{base}/v2/serve/chat/completions", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("path", ["pass-through", "litellm", "litellm-bedrock"])
@pytest.mark.parametrize("field", STEERING_FIELDS)
def test_a_field_that_would_redirect_the_request_is_refused_and_nothing_leaves(paths, user_token, trap, field, path,
                                                                              stream, stand_in_stats):
    base, model = paths[path]
    before = stand_in_stats()["requests"]
    response = _chat(base, user_token, model, stream=stream, **{field: trap.url})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == field and field in error["message"]
    assert trap.hits == []
    assert stand_in_stats()["requests"] == before + 1  # only the stats read itself: no inference request went out


@pytest.mark.parametrize("field", OTHER_REFUSED)
def test_any_field_off_the_allow_list_is_refused_naming_it(paths, user_token, field):
    base, model = paths["pass-through"]
    response = _chat(base, user_token, model, **{field: "x"})
    assert response.status_code == 400 and response.json()["error"]["param"] == field


def test_an_unknown_key_inside_a_message_is_refused(gateway, user_token):
    response = requests.post(f"{gateway}/v2/serve/chat/completions", timeout=30,
                             headers={"Authorization": f"Bearer {user_token}"},
                             json={"model": "chat", "messages": [{"role": "user", "content": "x", "api_base": "y"}]})
    assert response.status_code == 400 and response.json()["error"]["param"] == "messages[0].api_base"


def test_documented_fields_still_reach_the_upstream(gateway, user_token, stand_in_stats):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    response = _chat(gateway, user_token, "chat", temperature=0.2, top_p=0.9, max_tokens=50, seed=7, stop=["\n"],
                     tools=tools, tool_choice="auto", response_format={"type": "text"}, user="u-1", logprobs=True,
                     top_logprobs=2, presence_penalty=0.5, frequency_penalty=-0.5, n=1)
    assert response.status_code == 200, response.text
    sent = stand_in_stats()["last_request"]["body"]
    assert sent["tools"] == tools and sent["temperature"] == 0.2 and sent["user"] == "u-1"


OUT_OF_RANGE = [
    ("temperature", 5), ("temperature", -0.1), ("temperature", "hot"), ("top_p", 1.5), ("n", 0), ("max_tokens", -5),
    ("max_tokens", 0), ("max_completion_tokens", 0), ("presence_penalty", 2.5), ("frequency_penalty", -3),
    ("logprobs", "yes"), ("top_logprobs", 21), ("stop", ["a", "b", "c", "d", "e"]), ("stop", 3), ("seed", 1.5),
    ("logit_bias", {"50256": 101}), ("tool_choice", "sometimes"), ("response_format", {"type": "yaml"}),
    ("reasoning_effort", "extreme"), ("stream", "true"), ("tools", [{"type": "function", "function": {}}]),
]


@pytest.mark.parametrize("path", ["pass-through", "litellm"])
@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE, ids=[f"{f}={v!r}"[:40] for f, v in OUT_OF_RANGE])
def test_values_outside_openai_ranges_are_400_naming_the_field(paths, user_token, field, value, path):
    base, model = paths[path]
    response = _chat(base, user_token, model, **{field: value})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"].startswith(field)


@pytest.mark.parametrize(("endpoint", "body", "param"), [
    ("completions", {"model": "chat", "prompt": "p", "best_of": 0}, "best_of"),
    ("completions", {"model": "chat", "prompt": "p", "logprobs": 6}, "logprobs"),
    ("completions", {"model": "chat", "prompt": "p", "api_base": "http://x"}, "api_base"),
    ("embeddings", {"model": "embed", "input": "a", "encoding_format": "int8"}, "encoding_format"),
    ("embeddings", {"model": "embed", "input": "a", "dimensions": 0}, "dimensions"),
    ("embeddings", {"model": "embed", "input": "a", "base_url": "http://x"}, "base_url"),
    ("embeddings", {"model": "embed", "input": ["a", 3]}, "input"),
])
def test_completions_and_embeddings_have_their_own_allow_lists(gateway, user_token, endpoint, body, param):
    response = requests.post(f"{gateway}/v2/serve/{endpoint}", json=body, timeout=30,
                             headers={"Authorization": f"Bearer {user_token}"})
    assert response.status_code == 400 and response.json()["error"]["param"] == param


def test_a_thousand_embedding_inputs_pass_through_in_seconds(gateway, user_token):
    """LangChain's default batch: an answer of several MiB, once stalled until the upstream timeout."""
    inputs = [f"document number {i}" for i in range(1000)]
    started = time.monotonic()
    response = requests.post(f"{gateway}/v2/serve/embeddings", timeout=60,
                             headers={"Authorization": f"Bearer {user_token}"},
                             json={"model": "embed", "input": inputs, "dimensions": 384})
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert len(response.content) > 4 << 20 and len(response.json()["data"]) == 1000
    assert elapsed < 10, f"took {elapsed:.1f}s"


def test_an_answer_over_the_cap_is_502_not_memory(gateway, user_token, register, stand_in_upstream, master_key):
    register("huge", "huge-65", stand_in_upstream)
    wait_routable(gateway, "huge", master_key)
    response = _chat(gateway, user_token, "huge")
    assert response.status_code == 502
    assert "larger than 64 MiB" in response.json()["error"]["message"]
