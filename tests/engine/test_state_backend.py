"""In AWS the model stacks keep their state in the deployment-state bucket (the default backend); here the same
s3:// backend, pointed at the emulator. The suite has a stage of its own: no other suite's engine (each with its own
backend) may take this model up."""

from __future__ import annotations

import json

import pytest

from core import aws
from tests.engine.conftest import ADMIN, api_app, own_platform, wait_gone, wait_status
from tests.fixtures.processes import engine_env
from tests.fixtures.model_payloads import litellm_model

MODEL = "s3-state-model"


def state_keys(outputs) -> list[str]:
    listed = aws.client("s3").list_objects_v2(Bucket=outputs.buckets.deployment_state, Prefix=".pulumi/stacks/")
    return [o["Key"] for o in listed.get("Contents", []) if MODEL in o["Key"]]


@pytest.fixture(scope="module")
def outputs(moto_endpoint):
    return own_platform("s3state")


@pytest.fixture(scope="module")
def s3_api(outputs, tmp_path_factory):
    env = engine_env(tmp_path_factory.mktemp("s3-backend"), LISA_ENGINE_RESUME_ON_START="false")
    env.pop("LISA_PULUMI_BACKEND_URL")
    with api_app(outputs, env) as client:
        yield client


@pytest.fixture(scope="module")
def created(s3_api, outputs):
    assert s3_api.post("/models", headers=ADMIN, json=litellm_model(modelId=MODEL)).status_code == 200
    model, keys = wait_status(s3_api, MODEL), state_keys(outputs)
    checkpoint = next((k for k in keys if k.endswith(f"model-{MODEL}.json")), None)
    state = json.loads(aws.client("s3").get_object(Bucket=outputs.buckets.deployment_state, Key=checkpoint)["Body"]
                       .read()) if checkpoint else {}
    return model, keys, state


@pytest.fixture(scope="module")
def deleted(s3_api, created, outputs):
    assert s3_api.delete(f"/models/{MODEL}", headers=ADMIN).status_code == 200
    wait_gone(s3_api, MODEL)
    return state_keys(outputs)


def test_the_default_backend_is_the_deployment_state_bucket(s3_api, outputs):
    assert s3_api.app.state.engine.stacks.backend_url.startswith(f"s3://{outputs.buckets.deployment_state}?")


def test_a_model_deploys_with_its_state_in_the_bucket(created):
    model, keys, _ = created
    assert model["status"] == "InService", model.get("statusReason")
    assert any(k.endswith(f"model-{MODEL}.json") for k in keys)


def test_deleting_the_model_removes_its_stack_from_the_bucket(deleted):
    assert [k for k in deleted if k.endswith(".json")] == []


def test_the_stack_secrets_use_the_stage_key_not_the_passphrase(created, outputs):
    providers = created[2]["checkpoint"]["latest"]["secrets_providers"]
    assert providers["type"] == "cloud"
    assert providers["state"]["url"].startswith(f"awskms://alias/lisa/{outputs.deployment_name}-")
