"""An ECS-hosted model's lifecycle through the admin API (LISA's README payloads), deployed by its real Pulumi stack
against the emulator: create, no drift, scale, stop, start, metadata update, delete. Each step is a module-scoped
fixture building on the one before; each test checks one behaviour of one step."""

from __future__ import annotations

import pytest

from core import aws
from core.registry import ModelRegistry
from services.api.engine.jobs import _Collector
from tests.engine.conftest import ADMIN, wait_gone, wait_status
from tests.fixtures.model_inventory import model_inventory
from tests.fixtures.model_payloads import ecs_model

MODEL = "mistral-vllm"
SERVICE = "lisa-test-mistral-vllm"


def capacity(outputs) -> tuple[int, int, int, int]:
    """(ASG min, ASG max, ASG desired, service desired) as the emulator holds them."""
    group = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[SERVICE])["AutoScalingGroups"][0]
    service = aws.client("ecs").describe_services(cluster=outputs.model_hosting.cluster_name,
                                                  services=[SERVICE])["services"][0]
    return group["MinSize"], group["MaxSize"], group["DesiredCapacity"], service["desiredCount"]


def steps_of(api, after: int) -> list[dict]:
    events = api.get(f"/models/{MODEL}/events", headers=ADMIN, params={"after": after}).json()["events"]
    return [e for e in events if e["type"] == "step" and e["phase"] == "done"]


def last_sequence(api) -> int:
    events = api.get(f"/models/{MODEL}/events", headers=ADMIN).json()["events"]
    return events[-1]["sequence"] if events else 0


@pytest.fixture(scope="module")
def created(api):
    posted = api.post("/models", headers=ADMIN, json=ecs_model())
    return posted, wait_status(api, MODEL)


@pytest.fixture(scope="module")
def second_up(api, created, outputs):
    """Run the stack's `up` again with nothing changed; the engine's own summary of it."""
    engine = api.app.state.engine
    collector = _Collector(engine.events, MODEL)
    record = engine.registry.get(MODEL)
    engine.stacks.up(outputs.model_stack_name(MODEL), engine._program(record), collector)
    return [e for e in engine.events.of(MODEL) if e["type"] == "summary"][-1]


@pytest.fixture(scope="module")
def scaled(api, second_up):
    mark = last_sequence(api)
    api.put(f"/models/{MODEL}", headers=ADMIN,
            json={"autoScalingInstanceConfig": {"minCapacity": 1, "maxCapacity": 3, "desiredCapacity": 2}})
    return wait_status(api, MODEL), steps_of(api, mark)


@pytest.fixture(scope="module")
def stopped(api, scaled):
    api.put(f"/models/{MODEL}", headers=ADMIN, json={"enabled": False})
    return wait_status(api, MODEL)


@pytest.fixture(scope="module")
def started(api, stopped):
    api.put(f"/models/{MODEL}", headers=ADMIN, json={"enabled": True})
    return wait_status(api, MODEL)


@pytest.fixture(scope="module")
def relabelled(api, started):
    mark = last_sequence(api)
    api.put(f"/models/{MODEL}", headers=ADMIN, json={"streaming": False})
    return wait_status(api, MODEL), steps_of(api, mark)


@pytest.fixture(scope="module")
def deleted(api, relabelled, outputs):
    before = model_inventory(outputs, MODEL)
    response = api.delete(f"/models/{MODEL}", headers=ADMIN)
    wait_gone(api, MODEL)
    return before, response


def test_create_answers_at_once_with_creating(created):
    posted, _ = created
    assert posted.status_code == 200 and posted.json()["model"]["status"] == "Creating"


def test_ecs_model_reaches_in_service(created):
    assert created[1]["status"] == "InService", created[1].get("statusReason")


def test_model_is_listed_with_the_readme_fields(api, created):
    listed = {m["modelId"]: m for m in api.get("/models", headers=ADMIN).json()["models"]}
    assert {"autoScalingConfig", "containerConfig", "loadBalancerConfig", "instanceType", "modelId", "modelName",
            "modelType", "modelUrl", "status", "streaming"} <= set(listed[MODEL])


def test_emulator_holds_every_part_of_the_hosted_model(outputs, created):
    assert set(model_inventory(outputs, MODEL)) == {
        "launchTemplates", "autoScalingGroups", "capacityProviders", "clusterCapacityProviders", "taskDefinitions",
        "targetGroups", "listenerRules", "services", "scalableTargets", "scalingPolicies", "logGroups", "registration"}


def test_registration_routes_to_the_model_alb_by_header(outputs, created):
    registration = ModelRegistry(outputs.tables.models).get_registration(MODEL)
    assert registration.litellm_params["api_base"] == f"http://{outputs.model_hosting.load_balancer_dns_name}/v1"
    assert registration.litellm_params["extra_headers"] == {"X-Lisa-Model": MODEL}


def test_second_up_without_changes_reports_no_changes(second_up):
    assert set(second_up["resourceChanges"]) == {"same"}


def test_preview_of_the_unchanged_model_shows_no_change(api, second_up):
    preview = api.get(f"/models/{MODEL}/preview", headers=ADMIN).json()["preview"]
    assert set(preview["changeSummary"]) == {"same"}


def test_scale_preview_shows_an_in_place_update_and_writes_nothing(api, second_up):
    body = {"autoScalingInstanceConfig": {"minCapacity": 2, "maxCapacity": 4}}
    preview = api.put(f"/models/{MODEL}", headers=ADMIN, params={"dryRun": "true"}, json=body).json()["preview"]
    model_step = next(s for s in preview["steps"] if s["resource"] == "model")
    assert model_step["op"] == "update" and model_step["replaces"] == []
    assert api.get(f"/models/{MODEL}", headers=ADMIN).json()["model"]["autoScalingConfig"]["maxCapacity"] == 1


def test_scaling_past_max_gpu_instances_is_refused_with_the_numbers(api, outputs, second_up):
    body = {"autoScalingInstanceConfig": {"maxCapacity": outputs.max_gpu_instances + 1}}
    response = api.put(f"/models/{MODEL}", headers=ADMIN, json=body)
    assert (response.status_code, response.json()["error"]) == (400, "InvalidInputError")
    assert f"may scale to {outputs.max_gpu_instances + 1} GPU instance(s)" in response.json()["message"]
    assert api.get(f"/models/{MODEL}", headers=ADMIN).json()["model"]["status"] == "InService"


def test_scale_reaches_in_service(scaled):
    assert scaled[0]["status"] == "InService", scaled[0].get("statusReason")


def test_scale_updates_the_group_and_the_service_in_place(outputs, scaled):
    assert capacity(outputs) == (1, 3, 2, 2)
    assert [s["op"] for s in scaled[1] if s["resource"] == "model"] == ["update"]


def test_stop_is_stopped(stopped):
    assert stopped["status"] == "Stopped", stopped.get("statusReason")


def test_stop_scales_to_zero_and_unregisters(outputs, stopped):
    assert capacity(outputs) == (0, 0, 0, 0)
    assert ModelRegistry(outputs.tables.models).get_registration(MODEL) is None


def test_start_restores_the_previous_capacity_and_registration(outputs, started):
    assert started["status"] == "InService", started.get("statusReason")
    assert capacity(outputs) == (1, 3, 2, 2)
    assert ModelRegistry(outputs.tables.models).get_registration(MODEL) is not None


def test_metadata_update_rewrites_only_the_registration(outputs, relabelled):
    model, steps = relabelled
    assert model["status"] == "InService" and model["streaming"] is False
    assert ModelRegistry(outputs.tables.models).get_registration(MODEL).streaming is False
    assert {s["resource"]: s["op"] for s in steps if s["resource"] in ("model", "registration")} == {
        "model": "same", "registration": "update"}


def test_events_show_the_deployment_steps(api, relabelled):
    events = api.get(f"/models/{MODEL}/events", headers=ADMIN).json()["events"]
    assert any(e["type"] == "step" and e["resource"] == "model" and e["op"] == "create" for e in events)


def test_delete_answers_as_lisa_does(deleted):
    assert deleted[1].json() == {"status": "success", "message": f"Model {MODEL} has been deleted successfully."}


def test_delete_removes_every_emulator_resource_the_model_had(outputs, deleted):
    before, _ = deleted
    assert len(before) >= 11
    assert model_inventory(outputs, MODEL) == {}


def test_delete_removes_the_stack(api, outputs, deleted):
    assert not api.app.state.engine.stacks.exists(outputs.model_stack_name(MODEL))
