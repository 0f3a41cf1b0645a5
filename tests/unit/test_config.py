"""The stage config: every invalid case names its field path; the shipped dev stage is valid."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.config import RemovalPolicy, config_from_pulumi_values, parse_stage_config
from core.errors import ConfigError
from tests.fixtures.stage import stage_dict
from tests.unit.conftest import dev_stage, prod_stage
from tests.unit.pulumi_program import pulumi_values

OIDC = {"authority": "https://login.example.com", "clientId": "web", "adminGroup": "admins"}
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
VPC_ID = "vpc-0123456789abcdef0"
ACM = "arn:aws:acm:us-east-1:123456789012:certificate/x"
MODEL = {"model_name": "m", "litellm_params": {"model": "bedrock/x"}, "lisa_params": {"model_type": "textgen"}}


def _problems(**overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as failure:
        parse_stage_config(stage_dict(**overrides))
    return failure.value.problems


def _litellm(**changes: Any) -> dict:
    config = {"general_settings": {"master_key": "sk-test-master-key-0000"}, "model_list": []}
    config.update(changes)
    return config


INVALID: list[tuple[str, dict, str, str]] = [
    # (case, overrides, expected field path, a fragment of what was expected)
    ("uppercase deployment name", {"deploymentName": "Lisa"}, "deploymentName", "pattern"),
    ("deployment name too long", {"deploymentName": "a" * 17}, "deploymentName", "pattern"),
    ("unknown stage", {"deploymentStage": "staging"}, "deploymentStage", "'dev', 'test' or 'prod'"),
    ("unknown region", {"region": "mars-1"}, "region", "pattern"),
    ("short account number", {"accountNumber": "1234"}, "accountNumber", "pattern"),
    ("vpc cidr with host bits", {"vpc": {"vpcCidr": "10.0.0.1/16"}}, "vpc.vpcCidr", "CIDR"),
    ("vpc cidr too small", {"vpc": {"vpcCidr": "10.0.0.0/24"}}, "vpc.vpcCidr", "/16 and /22"),
    ("public vpc cidr", {"vpc": {"vpcCidr": "8.8.0.0/16"}}, "vpc.vpcCidr", "private range"),
    ("three nat gateways", {"vpc": {"natGateways": 3}}, "vpc.natGateways", "less than or equal to 2"),
    ("malformed vpc id", {"vpc": {"vpcId": "vpc-XYZ", "privateSubnetIds": SUBNETS}},
     "vpc.vpcId", "pattern"),
    ("one private subnet", {"vpc": {"vpcId": VPC_ID, "privateSubnetIds": SUBNETS[:1]}},
     "vpc.privateSubnetIds", "at least 2"),
    ("malformed subnet id", {"vpc": {"vpcId": VPC_ID, "privateSubnetIds": ["subnet-1", "subnet-2"]}},
     "vpc.privateSubnetIds[0]", "pattern"),
    ("subnet both private and public", {"vpc": {"vpcId": VPC_ID, "privateSubnetIds": SUBNETS,
                                                "publicSubnetIds": SUBNETS[1:]}},
     "vpc", "both private and public"),
    ("unknown vpc key", {"vpc": {"vpcCidr": "10.0.0.0/16", "cidr": "10.0.0.0/16"}}, "vpc.cidr", "not permitted"),
    ("http authority", {"authConfig": {**OIDC, "authority": "http://login.example.com"}}, "authConfig.authority",
     "pattern"),
    ("oidc without client id", {"authConfig": {k: v for k, v in OIDC.items() if k != "clientId"}},
     "authConfig.clientId", "required"),
    ("unknown auth provider", {"authConfig": {"provider": "saml"}}, "authConfig", "'oidc' (the default) or 'cognito'"),
    ("unknown mfa mode", {"authConfig": {"provider": "cognito", "mfa": "sometimes"}}, "authConfig.mfa", "'off'"),
    ("callback url without scheme", {"authConfig": {"provider": "cognito", "callbackUrls": ["example.com"]}},
     "authConfig.callbackUrls[0]", "pattern"),
    ("uppercase cognito domain", {"authConfig": {"provider": "cognito", "domainPrefix": "Lisa"}},
     "authConfig.domainPrefix", "pattern"),
    ("no certificate", {"certificate": {}}, "certificate", "exactly one"),
    ("two certificates", {"certificate": {"selfSigned": True, "acmCertificateArn": ACM}}, "certificate",
     "exactly one"),
    ("certificate arn not an arn", {"certificate": {"acmCertificateArn": "cert-123"}},
     "certificate.acmCertificateArn", "pattern"),
    ("self-signed in prod", {"deploymentStage": "prod"}, "certificate.selfSigned", "real certificate"),
    ("fargate memory that cpu cannot take", {"serveConfig": {"cpu": 256, "memoryMib": 4096}},
     "serveConfig.memoryMib", "512, 1024, 2048"),
    ("unknown fargate cpu", {"serveConfig": {"cpu": 3000}}, "serveConfig.cpu", "1024"),
    ("min tasks above max", {"serveConfig": {"minTasks": 5, "maxTasks": 2}}, "serveConfig.minTasks", "must not exceed"),
    ("zero max tasks", {"serveConfig": {"maxTasks": 0}}, "serveConfig.maxTasks", "greater than or equal to 1"),
    ("repository id with capitals", {"ragRepositories": [{"repositoryId": "Docs", "type": "pgvector"}]},
     "ragRepositories[0].repositoryId", "pattern"),
    ("unknown store type", {"ragRepositories": [{"repositoryId": "docs", "type": "chroma"}]},
     "ragRepositories[0].type", "'opensearch' or 'pgvector'"),
    ("overlap above half the size", {"ragRepositories": [
        {"repositoryId": "docs", "type": "pgvector", "chunkSize": 100, "chunkOverlap": 51}]},
     "ragRepositories[0].chunkOverlap", "at most half"),
    ("rds sizing on an opensearch store", {"ragRepositories": [
        {"repositoryId": "docs", "type": "opensearch", "rdsConfig": {}}]}, "ragRepositories[0].rdsConfig", "pgvector"),
    ("even number of masters", {"ragRepositories": [{"repositoryId": "docs", "type": "opensearch",
                                                     "opensearchConfig": {"masterNodes": 2}}]},
     "ragRepositories[0].opensearchConfig.masterNodes", "0, 3 or 5"),
    ("bad rds instance class", {"ragRepositories": [{"repositoryId": "docs", "type": "pgvector",
                                                     "rdsConfig": {"instanceClass": "t4g.medium"}}]},
     "ragRepositories[0].rdsConfig.instanceClass", "pattern"),
    ("repeated repository ids", {"ragRepositories": [{"repositoryId": "docs", "type": "pgvector"}] * 2},
     "ragRepositories", "unique"),
    ("master key without sk-", {"litellmConfig": _litellm(general_settings={"master_key": "secret-1234567890"})},
     "litellmConfig.general_settings.master_key", "'sk-'"),
    ("master key missing", {"litellmConfig": _litellm(general_settings={})},
     "litellmConfig.general_settings.master_key", "required"),
    ("model string without provider", {"litellmConfig": _litellm(model_list=[
        {**MODEL, "litellm_params": {"model": "gpt-4"}}])},
     "litellmConfig.model_list[0].litellm_params.model", "pattern"),
    ("unknown model type", {"litellmConfig": _litellm(model_list=[
        {**MODEL, "lisa_params": {"model_type": "image"}}])},
     "litellmConfig.model_list[0].lisa_params.model_type", "'textgen' or 'embedding'"),
    ("streaming embedding model", {"litellmConfig": _litellm(model_list=[
        {**MODEL, "lisa_params": {"model_type": "embedding", "streaming": True}}])},
     "litellmConfig.model_list[0].lisa_params.streaming", "cannot stream"),
    ("repeated model names", {"litellmConfig": _litellm(model_list=[MODEL, MODEL])}, "litellmConfig.model_list",
     "unique"),
    ("reserved tag key", {"tags": {"aws:owner": "x"}}, "tags", "reserved"),
    ("unknown removal policy", {"removalPolicy": "snapshot"}, "removalPolicy", "'destroy' or 'retain'"),
    ("unknown top-level key", {"vpcCidr": "10.0.0.0/16"}, "vpcCidr", "not permitted"),
    ("missing auth config", {"authConfig": None}, "authConfig", "'oidc' (the default) or 'cognito'"),
]


@pytest.mark.parametrize(("overrides", "path", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_an_invalid_stage_names_the_field_path_and_what_was_expected(overrides, path, expected):
    problems = _problems(**overrides)
    matching = [p for p in problems if p.startswith(f"{path}: ")]
    assert matching, problems
    assert expected in matching[0]


def test_every_problem_is_reported_at_once():
    problems = _problems(region="mars-1", deploymentName="X", certificate={})
    assert [p.split(":")[0] for p in problems] == ["deploymentName", "region", "certificate"]


def test_a_rejected_master_key_is_not_echoed():
    problems = _problems(litellmConfig=_litellm(general_settings={"master_key": "hunter2-not-a-key"}))
    assert not any("hunter2" in p for p in problems)


def test_the_shipped_dev_stage_is_valid():
    config = parse_stage_config(dev_stage())
    assert (config.deployment_stage.value, config.removal_policy) == ("dev", RemovalPolicy.DESTROY)
    assert config.certificate.self_signed and not config.uses_existing_vpc
    assert {r.type for r in config.rag_repositories} == {"pgvector", "opensearch"}


def test_the_prod_example_retains_its_data_by_default():
    config = parse_stage_config(prod_stage())
    assert config.removal_policy is RemovalPolicy.RETAIN and config.uses_existing_vpc


def test_lisa_style_oidc_config_needs_no_provider_key():
    config = parse_stage_config(stage_dict(authConfig=OIDC))
    assert config.auth_config.provider == "oidc"


def test_tags_include_the_deployment_and_stage():
    config = parse_stage_config(stage_dict(tags={"team": "ml"}))
    assert config.all_tags == {"lisa:deployment": "lisa", "lisa:stage": "test", "team": "ml"}


def test_pulumi_config_values_become_the_stage_dict():
    values = {**pulumi_values(dev_stage()), "aws:region": "us-east-1", "lisa:deploymentName": "1234"}
    raw = config_from_pulumi_values(values)
    assert "aws:region" not in raw and "region" not in json.dumps([k for k in raw if k.startswith("aws")])
    assert raw["deploymentName"] == "1234"  # a name that looks like a number stays a string
    assert raw["litellmConfig"]["general_settings"]["master_key"].startswith("sk-")
    assert raw["ragRepositories"][0]["repositoryId"] == "team-docs"


def test_a_plain_string_config_value_is_kept_as_a_string():
    assert config_from_pulumi_values({"lisa:region": "eu-west-1", "lisa:logLevel": "DEBUG"}) == {
        "region": "eu-west-1", "logLevel": "DEBUG"}


def test_access_groups_and_rate_limits_are_lisas_fields():
    from core.config import parse_stage_config
    from tests.fixtures.stage import stage_dict

    config = parse_stage_config(stage_dict(
        authConfig={"authority": "https://idp.example/realms/x", "clientId": "c", "adminGroup": "admins",
                    "userGroup": "lisa-users", "ragAdminGroup": "rag-admins", "apiGroup": "api-users"},
        serveConfig={"rateLimits": {"rpm": 120, "burst": 20, "overrides": {"group:gold": {"rpm": 600, "burst": 60}},
                                    "models": {"big-model": {"rpm": 10, "burst": 2}}}}))
    assert (config.auth_config.user_group, config.auth_config.rag_admin_group, config.auth_config.api_group) == (
        "lisa-users", "rag-admins", "api-users")
    limits = config.serve_config.rate_limits
    assert limits.limit_for([], ["gold"]).rpm == 600 and limits.limit_for(["user:x"], []).rpm == 120
    assert limits.models["big-model"].burst == 2


def test_a_rate_limit_override_must_name_its_kind():
    import pytest

    from core.config import parse_stage_config
    from core.errors import ConfigError
    from tests.fixtures.stage import stage_dict

    with pytest.raises(ConfigError, match="serveConfig.rateLimits.overrides"):
        parse_stage_config(stage_dict(serveConfig={"rateLimits": {"overrides": {"alice": {"rpm": 1, "burst": 1}}}}))
# ---- litellm_settings: applied by serve, or refused
def test_litellm_settings_serve_applies_are_accepted():
    config = parse_stage_config(stage_dict(litellmConfig=_litellm(litellm_settings={
        "drop_params": True, "request_timeout": 120, "num_retries": 2, "telemetry": False})))
    settings = config.litellm_config.litellm_settings
    assert (settings.drop_params, settings.request_timeout, settings.num_retries) == (True, 120, 2)


def test_a_litellm_setting_serve_would_ignore_is_refused_by_name():
    [problem] = _problems(litellmConfig=_litellm(litellm_settings={"drop_params": True, "cache": True,
                                                                   "success_callback": ["langfuse"]}))
    assert problem.startswith("litellmConfig.litellm_settings")
    assert "serve does not apply cache, success_callback" in problem


@pytest.mark.parametrize("settings, field", [({"telemetry": True}, "telemetry"), ({"num_retries": 50}, "num_retries"),
                                             ({"request_timeout": 0}, "request_timeout")])
def test_litellm_settings_out_of_range_name_the_setting(settings, field):
    [problem] = _problems(litellmConfig=_litellm(litellm_settings=settings))
    assert problem.startswith(f"litellmConfig.litellm_settings.{field}")
