"""What serve routes by: the registration built for each kind of model."""

from __future__ import annotations

import pytest

from core.models import ModelSpec
from providers.litellm_registration import LiteLLMRegistrationProvider, registration_for
from tests.fixtures.model_payloads import ecs_model, litellm_model, openai_compatible_model

ENDPOINT = "http://internal-lisa-test-models.us-east-1.elb.amazonaws.com/v1"


def test_hosted_model_routes_to_the_model_alb_with_its_header():
    registration = registration_for(ModelSpec.model_validate(ecs_model()), region="us-east-1", endpoint=ENDPOINT)
    assert registration.model_name == "mistral-vllm"
    assert registration.litellm_params == {
        "model": "openai/mistralai/Mistral-7B-Instruct-v0.2", "api_base": ENDPOINT,
        "extra_headers": {"X-Lisa-Model": "mistral-vllm"},
    }
    assert registration.streaming is True


def test_hosted_model_without_endpoint_is_refused():
    with pytest.raises(ValueError):
        registration_for(ModelSpec.model_validate(ecs_model()), region="us-east-1")


def test_bedrock_model_is_called_in_the_deployment_region():
    registration = registration_for(ModelSpec.model_validate(litellm_model()), region="eu-west-1")
    assert registration.litellm_params == {"model": "bedrock/amazon.titan-text-express-v1", "aws_region_name": "eu-west-1"}


def test_openai_compatible_model_uses_its_url_and_names_its_key_secret_only():
    spec = ModelSpec.model_validate(openai_compatible_model("local-chat", "http://127.0.0.1:9/v1", apiKey="sk-upstream"))
    registration = registration_for(spec, region="us-east-1", api_key_secret_id="lisa-test/models/local-chat/api-key")
    assert registration.litellm_params == {"model": "openai/stand-in-chat", "api_base": "http://127.0.0.1:9/v1"}
    assert registration.api_key_secret_id == "lisa-test/models/local-chat/api-key"
    assert "sk-upstream" not in registration.model_dump_json()


def _props(**registration_changes) -> dict:
    registration = {"model_name": "m", "litellm_params": {"model": "bedrock/x"}, "model_type": "textgen",
                    "streaming": False, **registration_changes}
    return {"modelsTable": "t", "modelId": "m", "registration": registration, "routable": True}


def test_registration_diff_is_in_place_for_metadata():
    result = LiteLLMRegistrationProvider().diff("m", _props(), _props(streaming=True))
    assert result.changes is True and result.replaces == []


def test_registration_diff_reports_nothing_for_the_same_entry():
    assert LiteLLMRegistrationProvider().diff("m", _props(), _props()).changes is False


def test_registration_diff_is_in_place_when_routing_stops():
    result = LiteLLMRegistrationProvider().diff("m", _props(), {**_props(), "routable": False})
    assert result.changes is True and result.replaces == []
