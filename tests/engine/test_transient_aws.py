"""M7: AWS refusing a job's own calls for a while (its lease, the final status write) leaves no model stuck in a
transitional status: the job retries with backoff, and when AWS keeps refusing past its budget the model is Failed
with the reason, and an admin can delete it. The refusals come from a proxy in front of the emulator; botocore's
own retries (3 attempts) are used up by refusing more calls than that."""

from __future__ import annotations

import pytest

from tests.engine.conftest import ADMIN, wait_gone, wait_status
from tests.fixtures.model_payloads import litellm_model


@pytest.fixture
def engine(api):
    """The session's engine, its provider host started before the test points this process at the proxy (so the
    host, a child process, keeps talking to the emulator directly). Tests list it before `faulty_aws`."""
    engine = api.app.state.engine
    if engine.stacks.provider_host is not None:
        engine.stacks.provider_host.ensure()
    return engine


def create_and_settle(api, model_id: str, timeout: float = 120) -> dict:
    assert api.post("/models", headers=ADMIN, json=litellm_model(modelId=model_id)).status_code == 200
    return wait_status(api, model_id, timeout=timeout)


def delete(api, model_id: str) -> None:
    assert api.delete(f"/models/{model_id}", headers=ADMIN).status_code == 200
    wait_gone(api, model_id)


def test_a_job_rides_out_aws_refusing_its_lease(api, engine, faulty_aws):
    refusals = faulty_aws.refuse("PutItem", body_contains="#lease/model-job/m7-lease", times=7)
    model = create_and_settle(api, "m7-lease")
    assert (model["status"], refusals.refused) == ("InService", 7), model.get("statusReason")
    delete(api, "m7-lease")


def test_a_job_rides_out_aws_refusing_its_final_status_write(api, engine, faulty_aws):
    refusals = faulty_aws.refuse("UpdateItem", body_contains='"m7-settle"', times=7)
    model = create_and_settle(api, "m7-settle")
    assert (model["status"], refusals.refused) == ("InService", 7), model.get("statusReason")
    delete(api, "m7-settle")


def test_a_job_that_aws_keeps_refusing_settles_failed_and_the_model_can_be_deleted(api, engine, faulty_aws,
                                                                                    monkeypatch):
    monkeypatch.setattr(engine, "aws_retry_s", 2.0)
    faulty_aws.refuse("PutItem", body_contains="#lease/model-job/m7-gives-up", times=10_000)
    model = create_and_settle(api, "m7-gives-up", timeout=60)
    assert model["status"] == "Failed"
    assert "AWS kept refusing the model's job lease" in model["statusReason"]
    assert "InternalServerError" in model["statusReason"]
    faulty_aws.clear()  # AWS is back
    delete(api, "m7-gives-up")
