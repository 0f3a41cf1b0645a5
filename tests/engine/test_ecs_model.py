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


def _model_outputs(engine, outputs) -> dict:
    """The HostedModel's outputs as the stack's state holds them."""
    deployment = engine.stacks.stack(outputs.model_stack_name(MODEL), create=False).export_stack().deployment
    return next(r["outputs"] for r in deployment["resources"] if r["urn"].endswith("::model"))


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
def drifted(api, second_up, outputs):
    """Parts changed behind the platform's back, then GET /drift (a refresh in preview mode)."""
    engine = api.app.state.engine
    outs = _model_outputs(engine, outputs)
    aws.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName=SERVICE, MaxSize=3, DesiredCapacity=3)
    aws.client("ecs").update_service(cluster=outputs.model_hosting.cluster_name, service=SERVICE, desiredCount=2)
    aws.client("elbv2").delete_rule(RuleArn=outs["listenerRuleArn"])
    aws.client("ecs").deregister_task_definition(taskDefinition=outs["taskDefinitionArn"])
    engine.registry.set_registration(MODEL, None)
    response = api.get(f"/models/{MODEL}/drift", headers=ADMIN)
    listed = {m["modelId"]: m for m in api.get("/models", headers=ADMIN).json()["models"]}[MODEL]
    return response, listed


@pytest.fixture(scope="module")
def reconciled(api, drifted, outputs):
    posted = api.post(f"/models/{MODEL}/reconcile", headers=ADMIN)
    settled = wait_status(api, MODEL)
    return posted, settled, api.get(f"/models/{MODEL}/drift", headers=ADMIN).json()["drift"]


@pytest.fixture(scope="module")
def up_after_reconcile(api, reconciled, outputs):
    engine = api.app.state.engine
    collector = _Collector(engine.events, MODEL)
    engine.stacks.up(outputs.model_stack_name(MODEL), engine._program(engine.registry.get(MODEL)), collector)
    return [e for e in engine.events.of(MODEL) if e["type"] == "summary"][-1]


CONTAINER_CHANGE = {"containerConfig": {"image": {"baseImage": "vllm/vllm-openai:v0.6.0"},
                                        "environment": {"MAX_TOTAL_TOKENS": "4096"}, "healthCheckRetries": 5}}


@pytest.fixture(scope="module")
def container_changed(api, up_after_reconcile, outputs):
    engine = api.app.state.engine
    before = _model_outputs(engine, outputs)
    preview = api.put(f"/models/{MODEL}", headers=ADMIN, params={"dryRun": "true"}, json=CONTAINER_CHANGE)
    response = api.put(f"/models/{MODEL}", headers=ADMIN, json=CONTAINER_CHANGE)
    settled = wait_status(api, MODEL)
    return preview.json()["preview"], response, settled, before, _model_outputs(engine, outputs)


@pytest.fixture(scope="module")
def scaled(api, container_changed):
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


def test_drift_names_each_part_changed_behind_the_platform(drifted):
    response, _ = drifted
    assert response.status_code == 200, response.text
    report = response.json()["drift"]
    found = {(r["resource"], d["part"], d["property"]): (d["expected"], d["actual"])
             for r in report["resources"] for d in r["differences"]}
    assert report["drifted"] is True
    assert found == {
        ("model", "autoScalingGroup", "maxSize"): (1, 3),
        ("model", "autoScalingGroup", "desiredCapacity"): (1, 3),
        ("model", "service", "desiredCount"): (1, 2),
        ("model", "listenerRule", ""): ("present", None),
        ("model", "taskDefinition", "status"): ("ACTIVE", "INACTIVE"),
        ("registration", "registration", ""): ("present", None),
    }


def test_the_model_list_carries_the_drift_badge(drifted):
    _, listed = drifted
    assert listed["drift"]["drifted"] is True and listed["drift"]["differences"] == 6


def test_a_drift_check_changes_nothing_it_reports(outputs, drifted):
    assert capacity(outputs)[2:] == (3, 2)
    assert "listenerRules" not in model_inventory(outputs, MODEL)


def test_reconcile_answers_updating_and_settles_in_service(reconciled):
    posted, settled, _ = reconciled
    assert posted.status_code == 200 and posted.json()["model"]["status"] == "Updating"
    assert settled["status"] == "InService", settled.get("statusReason")


def test_reconcile_puts_every_part_back(outputs, reconciled):
    _, _, drift = reconciled
    assert drift["drifted"] is False and all(not r["differences"] for r in drift["resources"])
    assert capacity(outputs) == (1, 1, 1, 1)
    assert set(model_inventory(outputs, MODEL)) >= {"listenerRules", "taskDefinitions", "registration"}


def test_an_up_after_reconcile_changes_nothing(up_after_reconcile):
    assert set(up_after_reconcile["resourceChanges"]) == {"same"}


def test_a_container_change_previews_as_an_in_place_update_of_the_named_properties(container_changed):
    preview = container_changed[0]
    step = next(s for s in preview["steps"] if s["resource"] == "model")
    assert (step["op"], preview["replaces"]) == ("update", [])
    changes = {c["property"]: (c["before"], c["after"]) for c in step["changes"]}
    assert changes == {  # LISA's rule: the environment sent replaces the whole environment
        "containerConfig.environment.MAX_CONCURRENT_REQUESTS": ("128", None),
        "containerConfig.environment.MAX_INPUT_LENGTH": ("1024", None),
        "containerConfig.environment.MAX_TOTAL_TOKENS": ("2048", "4096"),
        "containerConfig.healthCheckConfig.retries": (3, 5),
        "containerConfig.image.baseImage": ("vllm/vllm-openai:v0.5.0", "vllm/vllm-openai:v0.6.0"),
    }


def test_a_container_change_rolls_a_new_task_definition_through_the_service(outputs, container_changed):
    _, response, settled, before, after = container_changed
    assert response.json()["model"]["status"] == "Updating"
    assert settled["status"] == "InService", settled.get("statusReason")
    service = aws.client("ecs").describe_services(cluster=outputs.model_hosting.cluster_name,
                                                  services=[SERVICE])["services"][0]
    definition = aws.client("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    model = next(c for c in definition["containerDefinitions"] if c["name"] == "model")
    assert service["taskDefinition"] == after["taskDefinitionArn"] != before["taskDefinitionArn"]
    assert model["image"] == "vllm/vllm-openai:v0.6.0" and model["healthCheck"]["retries"] == 5
    assert {"name": "MAX_TOTAL_TOKENS", "value": "4096"} in model["environment"]
    assert after["listenerRuleArn"] == before["listenerRuleArn"]  # in place: nothing else was made again
    assert settled["containerConfig"]["environment"] == {"MAX_TOTAL_TOKENS": "4096"}


def test_a_change_that_replaces_the_model_needs_allow_replace(api, container_changed):
    body = {"instanceType": "g5.2xlarge"}
    preview = api.put(f"/models/{MODEL}", headers=ADMIN, params={"dryRun": "true"}, json=body).json()["preview"]
    refused = api.put(f"/models/{MODEL}", headers=ADMIN, json=body)
    assert preview["replaces"] == ["instanceType"]
    assert "replace" in {s["op"] for s in preview["steps"] if s["resource"] == "model"}
    assert (refused.status_code, refused.json()["error"]) == (400, "InvalidInputError")
    assert "allowReplace=true" in refused.json()["message"]
    assert api.get(f"/models/{MODEL}", headers=ADMIN).json()["model"]["instanceType"] == "g5.xlarge"


def test_description_features_and_context_window_change_the_record_only(api, container_changed):
    body = {"modelDescription": "Mistral for the docs team", "features": [{"name": "summarization", "overview": "x"}],
            "contextWindow": 32768}
    response = api.put(f"/models/{MODEL}", headers=ADMIN, json=body)
    model = response.json()["model"]
    assert (model["status"], model["modelDescription"], model["contextWindow"]) == (
        "InService", "Mistral for the docs team", 32768)
    assert model["features"] == [{"name": "summarization", "overview": "x"}]
    assert not api.app.state.engine.busy(MODEL)


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
