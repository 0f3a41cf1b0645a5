"""InService is said once serve routes the model: every serve worker reports the registry version it routes in the
models table, and the engine waits for all live workers to reach the version its registration wrote.

This module has a stage of its own in the emulator (no other suite's registrations), so its fresh serve gateway,
with pass-through off, meets LiteLLM only with the first model created here: that first import takes seconds,
which a fixed settle after the registration write would not cover."""

from __future__ import annotations

import time

import pytest

from core.config import parse_stage_config
from core.serve_heartbeats import HEARTBEATS_KEY, beat, create_map
from core.dynamo import Table
from services.local.emulated_aws import provision
from tests.engine.conftest import ADMIN, api_app, routable, wait_gone, wait_status
from tests.fixtures import processes
from tests.fixtures.model_payloads import openai_compatible_model
from tests.fixtures.stage import stage_dict


@pytest.fixture(scope="module")
def ack_platform(moto_endpoint):
    return provision(parse_stage_config(stage_dict(deploymentName="ack")))


@pytest.fixture(scope="module")
def ack_api(ack_platform, tmp_path_factory):
    env = processes.engine_env(tmp_path_factory.mktemp("ack-engine"), LISA_ENGINE_RESUME_ON_START="false",
                               LISA_ENGINE_ROUTING_ACK_TIMEOUT_S="120")
    with api_app(ack_platform, env) as client:
        yield client


@pytest.fixture(scope="module")
def fresh_serve(ack_platform, test_output):
    with processes.serve_app(ack_platform.model_dump_json(), log=test_output / "ack-serve.log",
                             passthrough="false") as (base, _):
        yield base


def test_in_service_is_said_only_once_a_fresh_serve_routes_the_model(ack_api, fresh_serve, stand_in_upstream):
    ack_api.post("/models", headers=ADMIN, json=openai_compatible_model("ack-first", stand_in_upstream))
    model = wait_status(ack_api, "ack-first", timeout=180)
    routed_when_seen = routable(fresh_serve, "ack-first")
    ack_api.delete("/models/ack-first", headers=ADMIN)
    wait_gone(ack_api, "ack-first")
    assert (model["status"], routed_when_seen) == ("InService", True), model.get("statusReason")


def test_a_serve_worker_that_never_routes_the_change_fails_the_model_with_the_reason(
        ack_api, ack_platform, stand_in_upstream, monkeypatch):
    """A live worker stuck at an old version (its heartbeat keeps coming, its routes never move)."""
    engine = ack_api.app.state.engine
    monkeypatch.setattr(engine, "routing_ack_timeout_s", 2.0)
    table = Table(ack_platform.tables.models)
    for change in (create_map(), beat("stuck-worker", 0, time.time() + 3600)):  # heard from "now" for an hour
        table.update_raw({"modelId": HEARTBEATS_KEY}, change.expression, names=change.names, values=change.values)
    try:
        ack_api.post("/models", headers=ADMIN, json=openai_compatible_model("ack-stuck", stand_in_upstream))
        model = wait_status(ack_api, "ack-stuck", timeout=120)
    finally:
        table.update_raw({"modelId": HEARTBEATS_KEY}, "REMOVE #m.#i", names={"#m": "instances", "#i": "stuck-worker"})
    ack_api.delete("/models/ack-stuck", headers=ADMIN)
    wait_gone(ack_api, "ack-stuck")
    assert model["status"] == "Failed"
    assert "serve did not route the change within 2s" in model["statusReason"]
    assert "stuck-worker at 0" in model["statusReason"]
