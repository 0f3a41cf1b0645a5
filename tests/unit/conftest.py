"""The core stack program run once per stage shape under Pulumi's mocks (a few seconds each), shared by the tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.unit.pulumi_program import ACCOUNT, REPO, ProgramRun, run_program, stack_file_config

PROD_MASTER_KEY = "sk-prod-unit-test-key-1234"
STATIC_MODEL_KEY = "unit-test-upstream-api-key"


def dev_stage(**overrides: Any) -> dict[str, Any]:
    """The shipped Pulumi.dev.yaml, as the program sees it."""
    stage = copy.deepcopy(stack_file_config(REPO / "Pulumi.dev.yaml"))
    stage.update(overrides)
    return stage


def prod_stage() -> dict[str, Any]:
    """Existing VPC with public subnets, external OIDC, ACM certificate, prebuilt image, pinned account."""
    return {
        "deploymentName": "lisa",
        "deploymentStage": "prod",
        "region": "eu-west-1",
        "accountNumber": ACCOUNT,
        "vpc": {"vpcId": "vpc-0abc1234def567890",
                "privateSubnetIds": ["subnet-0aaa1111bbb22222a", "subnet-0aaa1111bbb22222b"],
                "publicSubnetIds": ["subnet-0ccc3333ddd44444a", "subnet-0ccc3333ddd44444b"]},
        "authConfig": {"authority": "https://login.example.com/realms/lisa", "clientId": "lisa-web",
                       "adminGroup": "platform-admins", "jwtGroupsProperty": "realm_access.roles",
                       "additionalScopes": ["offline_access"]},
        "certificate": {"acmCertificateArn": f"arn:aws:acm:eu-west-1:{ACCOUNT}:certificate/1111-2222"},
        "serveConfig": {"cpu": 2048, "memoryMib": 4096, "minTasks": 2, "maxTasks": 8,
                        "image": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/lisa/apps:1.4.0"},
        "ragRepositories": [{"repositoryId": "kb", "type": "opensearch",
                             "opensearchConfig": {"dataNodes": 2, "masterNodes": 3}},
                            {"repositoryId": "contracts", "type": "pgvector", "rdsConfig": {"multiAz": True}}],
        "litellmConfig": {
            "general_settings": {"master_key": PROD_MASTER_KEY},
            "model_list": [{"model_name": "partner-llm",
                            "litellm_params": {"model": "openai/partner-llm", "api_base": "https://llm.example.com/v1",
                                               "api_key": STATIC_MODEL_KEY},
                            "lisa_params": {"model_type": "textgen", "streaming": True}}],
        },
        "webAppAssetsPath": None,
        "modelImageRepositories": ["models/vllm"],
    }


def internal_stage() -> dict[str, Any]:
    """Existing VPC without public subnets: everything internal to the VPC."""
    return {
        "deploymentName": "lisa",
        "deploymentStage": "test",
        "region": "us-east-1",
        "vpc": {"vpcId": "vpc-0abc1234def567890",
                "privateSubnetIds": ["subnet-0aaa1111bbb22222a", "subnet-0aaa1111bbb22222b"]},
        "authConfig": {"provider": "cognito", "mfa": "on", "domainPrefix": "lisa-test-login"},
        "certificate": {"iamCertificateArn": f"arn:aws:iam::{ACCOUNT}:server-certificate/lisa-test"},
        "ragRepositories": [{"repositoryId": "notes", "type": "pgvector"},
                            {"repositoryId": "wiki", "type": "opensearch", "opensearchConfig": {"dataNodes": 1}}],
        "litellmConfig": {"general_settings": {"master_key": "sk-test-unit-key-000"}},
        "webAppAssetsPath": "does/not/exist",
    }


@pytest.fixture(scope="session")
def web_dist(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    (dist / "assets").mkdir()
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "index-3f2a1b.js").write_text("console.log('lisa')")
    (dist / "config.json").write_text('{"from": "a local build, must not be uploaded"}')
    return dist


@pytest.fixture(scope="session")
def dev_run(web_dist: Path) -> ProgramRun:
    return run_program(dev_stage(webAppAssetsPath=str(web_dist)), stack="dev")


@pytest.fixture(scope="session")
def prod_run() -> ProgramRun:
    return run_program(prod_stage(), stack="prod")


@pytest.fixture(scope="session")
def internal_run() -> ProgramRun:
    return run_program(internal_stage(), stack="test")


@pytest.fixture(scope="session", params=["dev", "prod", "internal"])
def any_run(request) -> ProgramRun:
    """Each stage shape in turn: the security properties must hold for all of them."""
    return request.getfixturevalue(f"{request.param}_run")
