"""Across api processes a model's jobs take turns: a job waits while another control plane holds the model's lease."""

from __future__ import annotations

import time

from core.leases import Lease
from tests.engine.conftest import ADMIN, wait_gone, wait_status
from tests.fixtures.model_payloads import litellm_model

MODEL = "leased-model"


def test_a_job_waits_for_another_control_planes_lease_on_the_model(api, outputs):
    other = Lease(outputs.tables.models, f"model-job/{MODEL}", ttl=30)
    other.acquire()
    try:
        api.post("/models", headers=ADMIN, json=litellm_model(modelId=MODEL))
        time.sleep(1.5)  # the other control plane "works" on the model meanwhile
        held_status = api.get(f"/models/{MODEL}", headers=ADMIN).json()["model"]["status"]
        stack_made = api.app.state.engine.stacks.exists(outputs.model_stack_name(MODEL))
    finally:
        other.release()
    settled = wait_status(api, MODEL)
    api.delete(f"/models/{MODEL}", headers=ADMIN)
    wait_gone(api, MODEL)
    assert (held_status, stack_made, settled["status"]) == ("Creating", False, "InService")
