"""The `platform` output: validated against PlatformOutputs, secret when static models may carry credentials."""

from __future__ import annotations

import pydantic
import pytest

from components.platform_document import holds_secrets, platform_document, state_backend_url
from core.config import parse_stage_config
from core.platform import PlatformOutputs
from tests.fixtures.sample_platform import table_names
from tests.fixtures.stage import stage_dict

HOSTING = {"clusterName": "c", "clusterArn": "arn:c", "loadBalancerArn": "arn:lb", "listenerArn": "arn:l",
           "loadBalancerDnsName": "internal-x", "vpcId": "vpc-1", "privateSubnetIds": ["s1", "s2"],
           "instanceSecurityGroupIds": ["sg-1"], "instanceProfileArn": "arn:ip", "taskRoleArn": "arn:t",
           "executionRoleArn": "arn:e"}
AUTH = {"authority": "https://issuer", "clientId": "c", "adminGroup": "admins"}


def _models(*params: dict) -> list[dict]:
    return [{"model_name": f"m{i}", "litellm_params": p, "lisa_params": {"model_type": "textgen"}}
            for i, p in enumerate(params)]


def _config(*params: dict):
    raw = stage_dict()
    raw["litellmConfig"]["model_list"] = _models(*params)
    return parse_stage_config(raw)


def _document(config, **kwargs):
    return platform_document(
        config, account_id="123456789012",
        tables=table_names(),
        buckets={"models": "b1", "ragDocuments": "b2", "deploymentState": "b3"},
        master_key_secret_id="arn:secret", auth=AUTH, model_hosting=HOSTING, rag_stores=[], **kwargs)


def test_models_with_only_routing_params_hold_no_secret():
    assert not holds_secrets(_config({"model": "bedrock/x", "aws_region_name": "us-east-1"}))


@pytest.mark.parametrize("key", ["api_key", "aws_secret_access_key", "extra_headers"])
def test_any_other_litellm_param_may_be_a_credential(key):
    assert holds_secrets(_config({"model": "openai/x", key: "value"}))


def test_the_document_carries_the_urls_and_the_state_backend():
    doc = _document(_config(), serve_url="https://serve", api_url="https://api")
    assert (doc["serveUrl"], doc["apiUrl"]) == ("https://serve", "https://api")
    assert "webUrl" not in doc
    assert doc["stateBackendUrl"] == "s3://b3?region=us-east-1&awssdk=v2"


def test_a_document_missing_a_table_is_refused():
    config = _config()
    with pytest.raises(pydantic.ValidationError):
        platform_document(config, account_id="1", tables={"models": "t"}, buckets={"models": "b", "ragDocuments": "r",
                          "deploymentState": "s"}, master_key_secret_id="x", auth=AUTH, model_hosting=HOSTING,
                          rag_stores=[])


def test_the_state_backend_is_the_bucket_in_the_region():
    assert state_backend_url("bkt", "eu-west-1") == "s3://bkt?region=eu-west-1&awssdk=v2"


def test_the_document_carries_the_litellm_settings_serve_applies():
    raw = stage_dict()
    raw["litellmConfig"]["litellm_settings"] = {"drop_params": True, "num_retries": 1}
    doc = _document(parse_stage_config(raw))
    assert PlatformOutputs.model_validate(doc).litellm_settings.model_dump(exclude_defaults=True) == {
        "drop_params": True, "num_retries": 1}
