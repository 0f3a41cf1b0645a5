"""The engine's sweep: a model another writer left transitional (an api process whose job was lost with it) is taken
up by a running api without a restart. Its own stage: the sweep looks at every model of the stage. The api's background
passes run only with resume-on-start (the other engine suites turn both off)."""

from __future__ import annotations

import pytest

from core.models import ModelStatus
from core.registry import ModelRegistry
from tests.engine.conftest import ADMIN, api_app, own_platform, wait_gone, wait_status
from tests.fixtures.model_payloads import litellm_model
from tests.fixtures.processes import engine_env

MODEL = "swept-model"


@pytest.fixture(scope="module")
def outputs(moto_endpoint):
    return own_platform("sweep")


@pytest.fixture(scope="module")
def sweeping_api(outputs, tmp_path_factory):
    env = engine_env(tmp_path_factory.mktemp("sweep"), LISA_ENGINE_SWEEP_S="0.5")
    with api_app(outputs, env) as client:
        yield client


def test_a_delete_another_writer_left_behind_is_carried_out(sweeping_api, outputs):
    assert sweeping_api.post("/models", headers=ADMIN, json=litellm_model(modelId=MODEL)).status_code == 200
    assert wait_status(sweeping_api, MODEL)["status"] == "InService"
    stack = outputs.model_stack_name(MODEL)
    assert sweeping_api.app.state.engine.stacks.exists(stack)

    # What a second api process writes before it dies: the status, and no job anywhere.
    ModelRegistry(outputs.tables.models).set_status(MODEL, ModelStatus.DELETING, expected={ModelStatus.IN_SERVICE})

    wait_gone(sweeping_api, MODEL, timeout=60)
    assert not sweeping_api.app.state.engine.stacks.exists(stack)
