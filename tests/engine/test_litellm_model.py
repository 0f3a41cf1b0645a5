"""A LiteLLM-only model's lifecycle through the admin API: an OpenAI-compatible server (the stand-in upstream) with
an API key, created, routed by serve, stopped, started and deleted, through its real Pulumi stack."""

from __future__ import annotations


import pytest
from openai import OpenAI

from core import aws
from core.registry import ModelRegistry
from tests.engine.conftest import ADMIN, routable, seconds_until, wait_gone, wait_status
from tests.fixtures.model_inventory import model_inventory
from tests.fixtures.model_payloads import openai_compatible_model
from tests.fixtures.stage import TEST_MASTER_KEY

MODEL = "stand-in-lite"
UPSTREAM_KEY = "sk-upstream-key-for-lite"


@pytest.fixture(scope="module")
def created(api, stand_in_upstream):
    posted = api.post("/models", headers=ADMIN,
                      json=openai_compatible_model(MODEL, stand_in_upstream, apiKey=UPSTREAM_KEY))
    settled = wait_status(api, MODEL)
    return posted, settled


@pytest.fixture(scope="module")
def stopped(api, created, gateway):
    api.put(f"/models/{MODEL}", headers=ADMIN, json={"enabled": False})
    model = wait_status(api, MODEL, {"Stopped", "Failed"})
    return {**model, "routable when seen": routable(gateway, MODEL)}


@pytest.fixture(scope="module")
def started(api, stopped, gateway):
    api.put(f"/models/{MODEL}", headers=ADMIN, json={"enabled": True})
    model = wait_status(api, MODEL, {"InService", "Failed"})
    return {**model, "routable when seen": routable(gateway, MODEL)}


@pytest.fixture(scope="module")
def deleted(api, started, outputs):
    response = api.delete(f"/models/{MODEL}", headers=ADMIN)
    wait_gone(api, MODEL)
    return response


def test_create_answers_at_once_with_creating(created):
    posted, _ = created
    assert posted.status_code == 200
    assert posted.json()["model"]["status"] == "Creating"


def test_litellm_model_reaches_in_service(created):
    _, settled = created
    assert settled["status"] == "InService", settled.get("statusReason")


def test_api_key_is_never_returned(api, created):
    body = api.get(f"/models/{MODEL}", headers=ADMIN).text + api.get("/models", headers=ADMIN).text
    assert UPSTREAM_KEY not in body and "apiKey" not in body


def test_api_key_is_kept_in_secrets_manager_and_referenced_by_name(outputs, created):
    registration = ModelRegistry(outputs.tables.models).get_registration(MODEL)
    secret = aws.client("secretsmanager").get_secret_value(SecretId=registration.api_key_secret_id)
    assert secret["SecretString"] == UPSTREAM_KEY
    assert UPSTREAM_KEY not in registration.model_dump_json()


def test_serve_routes_the_model_within_two_seconds(created, gateway, stand_in_upstream):
    assert seconds_until(lambda: routable(gateway, MODEL), timeout=2.0) <= 2.0
    client = OpenAI(base_url=f"{gateway}/v1", api_key=TEST_MASTER_KEY)
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content == "Echo: hello"


def test_stop_makes_the_model_stopped_and_unroutable(stopped, gateway):
    assert stopped["status"] == "Stopped", stopped.get("statusReason")
    assert stopped["routable when seen"] is False  # Stopped is said once serve no longer routes it


def test_start_makes_it_routable_again(started, gateway):
    assert started["status"] == "InService", started.get("statusReason")
    assert started["routable when seen"] is True  # InService is said once serve routes it


def test_delete_answers_as_lisa_does(deleted):
    assert deleted.status_code == 200
    assert deleted.json() == {"status": "success", "message": f"Model {MODEL} has been deleted successfully."}


def test_delete_removes_the_registration_the_key_and_the_stack(deleted, outputs, engine_state):
    assert model_inventory(outputs, MODEL) == {}
    stacks = list((engine_state / "backend").rglob(f"*model-{MODEL}*"))
    assert [p for p in stacks if p.suffix == ".json" and "history" not in p.parts] == []
