"""Routes from registrations (pure): pass-through or LiteLLM, request heads, keys, headers, precedence."""

from __future__ import annotations

import pytest

from core.config import LiteLLMModelEntry
from core.models import ModelType
from core.registry import Registration
from services.serve.openai_errors import OpenAIError
from services.serve.payloads import parse_request
from services.serve.routing import build_routes, plan_route


def _reg(name: str = "m", model: str = "openai/served", **params) -> Registration:
    return Registration(model_name=name, model_type=params.pop("model_type", ModelType.TEXTGEN),
                        litellm_params={"model": model, **params})


def test_openai_model_with_api_base_is_passed_through():
    route = plan_route(_reg(api_base="http://alb.internal:8080/llama/v1"), None)
    assert route.passthrough.origin == "http://alb.internal:8080" and route.passthrough.upstream_model == "served"
    head = route.passthrough.heads["chat/completions"] % 12
    assert head.startswith(b"POST /llama/v1/chat/completions HTTP/1.1\r\nhost: alb.internal:8080\r\n")
    assert head.endswith(b"content-length: 12\r\n\r\n") and b"authorization" not in head


def test_hosted_vllm_is_passed_through():
    assert plan_route(_reg(model="hosted_vllm/x", api_base="http://h/v1"), None).passthrough is not None


@pytest.mark.parametrize("model, params", [("bedrock/amazon.titan-text-express-v1", {}),
                                           ("sagemaker/endpoint", {}), ("openai/gpt-4o", {})])
def test_providers_without_an_openai_api_base_go_through_litellm(model, params):
    assert plan_route(_reg(model=model, **params), None).passthrough is None


def test_passthrough_can_be_switched_off():
    assert plan_route(_reg(api_base="http://h/v1"), None, passthrough=False).passthrough is None


def test_api_key_goes_into_the_head_and_litellm_params():
    route = plan_route(_reg(api_base="http://h/v1"), "sk-up")
    assert b"authorization: Bearer sk-up\r\n" in route.passthrough.heads["embeddings"]
    assert route.litellm_params["api_key"] == "sk-up"


def test_extra_headers_select_the_hosted_model():
    route = plan_route(_reg(api_base="http://alb/v1", extra_headers={"X-Lisa-Model": "llama"}), None)
    assert b"x-lisa-model: llama\r\n" in route.passthrough.heads["completions"]


@pytest.mark.parametrize("headers", [{"X-Bad": "a\r\nHost: evil"}, {"Host": "other"}, {"Bad Name": "x"}])
def test_header_injection_is_refused(headers):
    with pytest.raises(ValueError):
        plan_route(_reg(api_base="http://h/v1", extra_headers=headers), None)


def test_unroutable_registration_is_left_out_not_fatal():
    routes = build_routes([_reg("bad", api_base="http://h/v1", extra_headers={"X": "a\nb"}), _reg("good")], [], {})
    assert list(routes) == ["good"]


def test_registry_entry_replaces_a_static_model_of_the_same_name():
    static = LiteLLMModelEntry.model_validate({"model_name": "m", "litellm_params": {"model": "bedrock/x"},
                                               "lisa_params": {"model_type": "textgen"}})
    routes = build_routes([_reg("m", api_base="http://h/v1")], [static], {})
    assert routes["m"].passthrough is not None and not routes["m"].static


def test_static_models_are_routed():
    static = LiteLLMModelEntry.model_validate({"model_name": "titan", "litellm_params": {"model": "bedrock/x"},
                                               "lisa_params": {"model_type": "embedding"}})
    route = build_routes([], [static], {})["titan"]
    assert route.static and route.answers("embeddings") and not route.answers("chat/completions")


def test_secret_named_api_key_is_resolved_from_the_fetched_keys():
    registration = _reg(api_base="http://h/v1").model_copy(update={"api_key_secret_id": "arn:secret"})
    route = build_routes([registration], [], {"arn:secret": "sk-from-sm"})["m"]
    assert route.litellm_params["api_key"] == "sk-from-sm"


def test_env_reference_is_resolved(monkeypatch):
    monkeypatch.setenv("UPSTREAM_KEY", "sk-env")
    assert plan_route(_reg(api_base="http://h/v1", api_key="os.environ/UPSTREAM_KEY"), None).litellm_params["api_key"] == "sk-env"


# request checks
@pytest.mark.parametrize("endpoint, body", [
    ("chat/completions", b""), ("chat/completions", b"{"), ("chat/completions", b"[]"), ("chat/completions", b'{"model": 1}'),
    ("chat/completions", b'{"model": "m"}'), ("chat/completions", b'{"model": "m", "messages": []}'),
    ("chat/completions", b'{"model": "m", "messages": ["hi"]}'),
    ("chat/completions", b'{"model": "m", "messages": [{"role": "user"}], "stream": "true"}'),
    ("chat/completions", b'{"model": "m", "messages": [{"role": "user"}], "stream_options": {"include_usage": true}}'),
    ("completions", b'{"model": "m"}'), ("embeddings", b'{"model": "m", "input": ""}'),
    ("embeddings", b'{"model": "m", "input": "x", "stream": true}'),
])
def test_malformed_requests_are_400(endpoint, body):
    with pytest.raises(OpenAIError) as caught:
        parse_request(endpoint, body)
    assert caught.value.status == 400


def test_well_formed_request_parses():
    payload = parse_request("chat/completions", b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": true,'
                                                b' "stream_options": {"include_usage": true}}')
    assert payload["model"] == "m"


# ---- the stage's litellm_settings on every LiteLLM-routed model
def test_the_router_applies_the_stages_litellm_settings():
    from core.config import LiteLLMSettings
    from services.serve.litellm_path import router_config

    bedrock = plan_route(_reg(name="b", model="bedrock/x"), None)
    own = plan_route(_reg(name="o", model="bedrock/y", drop_params=False), None)
    config = router_config([bedrock, own], LiteLLMSettings(drop_params=True, request_timeout=90, num_retries=2),
                           timeout_s=600)
    assert (config["num_retries"], config["timeout"]) == (2, 90)
    params = {m["model_name"]: m["litellm_params"] for m in config["model_list"]}
    assert params["b"]["drop_params"] is True and params["o"]["drop_params"] is False  # a model's own setting wins
    assert params["b"]["timeout"] == 90


def test_without_litellm_settings_the_router_keeps_serves_timeout_and_no_retries():
    from core.config import LiteLLMSettings
    from services.serve.litellm_path import router_config

    config = router_config([plan_route(_reg(model="bedrock/x"), None)], LiteLLMSettings(), timeout_s=600)
    assert (config["num_retries"], config["timeout"]) == (0, 600)
    assert "drop_params" not in config["model_list"][0]["litellm_params"]
