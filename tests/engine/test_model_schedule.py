"""Model schedules (LISA v6) through the admin API with the real Pulumi CLI against the emulator: the schedule's
EventBridge schedules in the model's own stack, the next transitions on a clock the test controls, a scheduled stop
that scales to zero as `enabled: false` does and a scheduled start that brings the model back (from the api's clock
and from what an EventBridge schedule writes), the role matrix, LISA's errors, and the audit trail. No sleeps: the
scheduler runs when the test ticks it."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core import aws, naming
from core.registry import SCHEDULED_ACTION, ModelRegistry
from providers.model_schedule import SCHEDULE_GROUP, UPDATE_ITEM_TARGET
from services.api.model_scheduler import ModelScheduler
from services.local.emulated_aws import ensure_user
from tests.engine.conftest import ADMIN, wait_gone, wait_status
from tests.engine.test_admin_api import id_token
from tests.fixtures.eventually import eventually
from tests.fixtures.model_payloads import ecs_model, litellm_model

MODEL = "sched-vllm"
SERVICE = f"lisa-test-{MODEL}"
BERLIN = ZoneInfo("Europe/Berlin")
WORKING_WEEK = {"scheduleType": "DAILY", "timezone": "Europe/Berlin", "weeklySchedule": {
    day: {"startTime": "09:00", "stopTime": "17:00"} for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}}


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


def capacity(outputs) -> tuple[int, int, int, int]:
    group = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[SERVICE])["AutoScalingGroups"][0]
    service = aws.client("ecs").describe_services(cluster=outputs.model_hosting.cluster_name,
                                                  services=[SERVICE])["services"][0]
    return group["MinSize"], group["MaxSize"], group["DesiredCapacity"], service["desiredCount"]


def schedule_names(outputs) -> list[str]:
    prefix = naming.model_schedule_prefix(outputs.deployment_name, outputs.deployment_stage) + MODEL
    found = aws.client("scheduler").list_schedules(GroupName=SCHEDULE_GROUP, NamePrefix=prefix)["Schedules"]
    return sorted(s["Name"] for s in found)


def audited(outputs, action: str) -> list[dict]:
    def found():
        items = aws.client("dynamodb").scan(TableName=outputs.tables.audit)["Items"]
        hits = [i for i in items if i["action"]["S"] == action and MODEL in json.dumps(i)]
        return hits or None

    return eventually(found, 30, lambda: f"an audit event {action}")


@pytest.fixture(scope="module")
def clock(api):
    """The app's scheduler answers next transitions from this clock: Friday 10 May 2030, 12:00 in Berlin."""
    scheduler = api.app.state.scheduler
    saved = scheduler.now
    scheduler.now = Clock(berlin(2030, 5, 10, 12))
    yield scheduler.now
    scheduler.now = saved


@pytest.fixture(scope="module")
def user_bearer(outputs) -> dict[str, str]:
    ensure_user(outputs.auth.user_pool_id, "plain-user", "Plain-Passw0rd!")
    return {"Authorization": f"Bearer {id_token(outputs, 'plain-user', 'Plain-Passw0rd!')}"}


@pytest.fixture(scope="module")
def created(api):
    api.post("/models", headers=ADMIN, json=ecs_model(modelId=MODEL))
    model = wait_status(api, MODEL)
    yield model
    api.delete(f"/models/{MODEL}", headers=ADMIN)
    wait_gone(api, MODEL)


@pytest.fixture(scope="module")
def scheduled(api, created, clock, outputs):
    put = api.put(f"/models/{MODEL}/schedule", headers=ADMIN, json=WORKING_WEEK)
    again = api.put(f"/models/{MODEL}/schedule", headers=ADMIN, json=WORKING_WEEK)  # while Updating
    settled = wait_status(api, MODEL)
    return put, again, settled, capacity(outputs)


@pytest.fixture(scope="module")
def scheduler(api, scheduled, outputs):
    """A scheduler on a clock the test moves; its first tick only sets the clock's position."""
    runner = ModelScheduler(api.app.state.engine, use_clock=True, now=Clock(berlin(2030, 5, 10, 16, 59)),
                            audit=lambda: api.app.state.audit)
    assert runner.tick() == []
    return runner


@pytest.fixture(scope="module")
def stopped_by_clock(api, scheduler):
    scheduler.now.at = berlin(2030, 5, 10, 17, 1)
    outcomes = scheduler.tick()
    return outcomes, wait_status(api, MODEL)


@pytest.fixture(scope="module")
def started_by_clock(api, stopped_by_clock, scheduler):
    scheduler.now.at = berlin(2030, 5, 13, 9, 0, 30)  # Monday (the weekend had no window)
    outcomes = scheduler.tick()
    return outcomes, wait_status(api, MODEL)


@pytest.fixture(scope="module")
def stopped_by_eventbridge(api, started_by_clock, scheduler, outputs):
    """What the STOP schedule's target does when it fires: its UpdateItem, as EventBridge Scheduler sends it."""
    stop = next(n for n in schedule_names(outputs) if "-stop-" in n)
    target = aws.client("scheduler").get_schedule(Name=stop, GroupName=SCHEDULE_GROUP)["Target"]
    request = json.loads(target["Input"].replace("<aws.scheduler.scheduled-time>", "2030-05-13T15:00:00Z"))
    aws.client("dynamodb").update_item(**request)
    scheduler.use_clock = False
    outcomes = scheduler.tick()
    scheduler.use_clock = True
    return outcomes, wait_status(api, MODEL)


@pytest.fixture(scope="module")
def unscheduled(api, stopped_by_eventbridge, outputs):
    deleted = api.delete(f"/models/{MODEL}/schedule", headers=ADMIN)
    settled = wait_status(api, MODEL)
    return deleted, settled, schedule_names(outputs), api.get(f"/models/{MODEL}/schedule", headers=ADMIN).json()


# Setting a schedule --------------------------------------------------------------------------------------------
def test_put_answers_lisas_shape_with_the_next_transitions(scheduled):
    body = scheduled[0].json()
    assert scheduled[0].status_code == 200
    assert (body["message"], body["modelId"], body["scheduleEnabled"]) == ("Schedule updated successfully", MODEL, True)
    assert [(t["action"], t["scheduledTime"]) for t in body["nextTransitions"][:3]] == [
        ("STOP", "2030-05-10T17:00:00+02:00"), ("START", "2030-05-13T09:00:00+02:00"),
        ("STOP", "2030-05-13T17:00:00+02:00")]


def test_a_schedule_change_while_the_model_updates_is_a_conflict(scheduled):
    assert (scheduled[1].status_code, scheduled[1].json()["error"]) == (409, "ConflictError")


def test_the_schedule_deploys_without_touching_the_running_model(scheduled):
    assert scheduled[2]["status"] == "InService", scheduled[2].get("statusReason")
    assert scheduled[3] == (1, 1, 1, 1)


def test_the_models_stack_holds_eventbridge_schedules_that_ask_the_api(api, outputs, scheduled):
    client = aws.client("scheduler")
    schedules = [client.get_schedule(Name=n, GroupName=SCHEDULE_GROUP) for n in schedule_names(outputs)]
    assert sorted((s["ScheduleExpression"], s["ScheduleExpressionTimezone"]) for s in schedules) == [
        ("cron(0 17 ? * MON,TUE,WED,THU,FRI *)", "Europe/Berlin"), ("cron(0 9 ? * MON,TUE,WED,THU,FRI *)", "Europe/Berlin")]
    for schedule in schedules:
        target = schedule["Target"]
        assert (target["Arn"], target["RoleArn"]) == (UPDATE_ITEM_TARGET, outputs.model_hosting.scheduler_role_arn)
        request = json.loads(target["Input"])
        assert request["TableName"] == outputs.tables.models and request["Key"] == {"modelId": {"S": MODEL}}
    deployment = api.app.state.engine.stacks.stack(outputs.model_stack_name(MODEL), create=False).export_stack()
    assert any(r["type"].endswith("ModelSchedule") for r in deployment.deployment["resources"])


def test_get_shows_the_schedule_and_next_action_to_anyone_who_may_use_the_model(api, scheduled, user_bearer):
    response = api.get(f"/models/{MODEL}/schedule", headers=user_bearer)
    body = response.json()
    assert response.status_code == 200 and body["modelId"] == MODEL
    assert body["scheduling"]["scheduleType"] == "DAILY" and body["scheduling"]["timezone"] == "Europe/Berlin"
    assert body["scheduling"]["weeklySchedule"]["friday"] == {"startTime": "09:00", "stopTime": "17:00"}
    assert body["nextScheduledAction"] == {"action": "STOP", "scheduledTime": "2030-05-10T17:00:00+02:00"}


def test_the_admin_change_is_audited(outputs, scheduled):
    assert audited(outputs, "model.schedule.update")


# Running it ----------------------------------------------------------------------------------------------------
def test_the_clock_stops_the_model_at_the_stop_time(stopped_by_clock):
    outcomes, model = stopped_by_clock
    assert [(o.model_id, o.action.value, o.result) for o in outcomes] == [(MODEL, "STOP", "stopped")]
    assert (model["status"], model["enabled"]) == ("Stopped", False)


def test_a_scheduled_stop_scales_to_zero_and_unregisters_as_enabled_false_does(outputs, stopped_by_clock):
    assert capacity(outputs) == (0, 0, 0, 0)
    assert ModelRegistry(outputs.tables.models).get_registration(MODEL) is None


def test_a_scheduled_start_brings_the_model_back(outputs, started_by_clock):
    outcomes, model = started_by_clock
    assert [(o.action.value, o.result) for o in outcomes] == [("START", "started")]
    assert (model["status"], model["enabled"]) == ("InService", True)
    assert capacity(outputs) == (1, 1, 1, 1)
    assert ModelRegistry(outputs.tables.models).get_registration(MODEL) is not None


def test_the_status_says_what_the_schedule_last_did(api, started_by_clock):
    body = api.get(f"/models/{MODEL}/schedule/status", headers=ADMIN).json()
    assert (body["scheduleStatus"], body["scheduleConfigured"], body["lastScheduleFailed"]) == ("ACTIVE", True, False)
    assert body["lastScheduledAction"] == {"action": "START", "scheduledTime": "2030-05-13T09:00:00+02:00"}


def test_scheduled_transitions_are_audited_with_the_scheduler_as_actor(outputs, started_by_clock):
    event = audited(outputs, "model.schedule.stop")[0]
    assert event.get("actorName", {}).get("S") == "model-scheduler"


def test_what_an_eventbridge_schedule_writes_is_run_once_through_the_same_transition(outputs, stopped_by_eventbridge):
    outcomes, model = stopped_by_eventbridge
    assert [(o.action.value, o.result) for o in outcomes] == [("STOP", "stopped")]
    assert model["status"] == "Stopped" and capacity(outputs) == (0, 0, 0, 0)
    item = aws.client("dynamodb").get_item(TableName=outputs.tables.models, Key={"modelId": {"S": MODEL}})["Item"]
    assert SCHEDULED_ACTION not in item  # taken: a second tick does nothing


# Removing it ---------------------------------------------------------------------------------------------------
def test_delete_removes_the_eventbridge_schedules(unscheduled):
    deleted, settled, names, body = unscheduled
    assert deleted.status_code == 200 and deleted.json()["scheduleEnabled"] is False
    assert settled["status"] == "Stopped", settled.get("statusReason")  # as it was: a schedule change starts nothing
    assert names == [] and body["scheduling"] is None and body["nextTransitions"] == []


# Contract ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def litellm_only(api):
    api.post("/models", headers=ADMIN, json=litellm_model(modelId="sched-lite"))
    wait_status(api, "sched-lite")
    yield "sched-lite"
    api.delete("/models/sched-lite", headers=ADMIN)
    wait_gone(api, "sched-lite")


def test_role_matrix(api, litellm_only, user_bearer):
    path = f"/models/{litellm_only}/schedule"
    expected = {  # (no token, a signed-in user, the admin)
        ("put", path): (401, 403, 400), ("post", path): (401, 403, 400), ("delete", path): (401, 403, 200),
        ("get", path): (401, 200, 200), ("get", f"{path}/status"): (401, 200, 200)}
    for (method, url), statuses in expected.items():
        body = {"json": WORKING_WEEK} if method in ("put", "post") else {}
        seen = tuple(getattr(api, method)(url, headers=headers, **body).status_code
                     for headers in ({}, user_bearer, ADMIN))
        assert seen == statuses, (method, url)


def test_a_litellm_only_model_has_nothing_to_schedule(api, litellm_only):
    response = api.put(f"/models/{litellm_only}/schedule", headers=ADMIN, json=WORKING_WEEK)
    assert response.json()["error"] == "InvalidInputError" and "hosted" in response.json()["message"]


@pytest.mark.parametrize("body, fragment", [
    ({"scheduleType": "RECURRING", "dailySchedule": {"startTime": "09:00", "stopTime": "10:00"}}, "2 hours"),
    ({"scheduleType": "DAILY", "timezone": "Mars/Olympus", "weeklySchedule": {"monday": {
        "startTime": "09:00", "stopTime": "17:00"}}}, "timezone"),
    ({"scheduleType": "WEEKLY"}, "scheduleType"),
])
def test_a_bad_schedule_is_lisas_validation_error(api, litellm_only, body, fragment):
    response = api.put(f"/models/{litellm_only}/schedule", headers=ADMIN, json=body)
    assert response.status_code == 422 and response.json()["error"] == "ValidationError"
    assert fragment in response.json()["message"]


def test_an_unknown_model_is_404(api):
    for method in ("put", "get", "delete"):
        body = {"json": WORKING_WEEK} if method == "put" else {}
        response = getattr(api, method)("/models/no-such-model/schedule", headers=ADMIN, **body)
        assert (response.status_code, response.json()["error"]) == (404, "ModelNotFoundError"), method
