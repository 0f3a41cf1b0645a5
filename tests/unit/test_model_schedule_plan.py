"""What a model's EventBridge schedules are made of (pure parts of providers/model_schedule.py), the transition the
api's clock runs after a pause, and which source runs schedules where."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from core import naming
from core.schedules import SchedulingConfig, due
from providers.model_schedule import UPDATE_ITEM_TARGET, declared_schedules, schedule_request, target_input
from services.api.model_scheduler import uses_clock

NIGHTS = SchedulingConfig.model_validate(
    {"scheduleType": "RECURRING", "timezone": "Asia/Tokyo", "dailySchedule": {"startTime": "22:00", "stopTime": "06:30"}})


def test_each_schedule_is_named_under_the_stages_prefix_within_eventbridges_limit():
    long_id = "m" * 63
    names = [s["name"] for s in declared_schedules(NIGHTS, deployment="lisa", stage="dev", model_id=long_id)]
    assert all(n.startswith(naming.model_schedule_prefix("lisa", "dev")) and len(n) <= 64 for n in names)
    assert len(set(names)) == 2


def test_the_target_is_an_update_of_the_models_scheduled_action_only():
    request = json.loads(target_input("lisa-dev-models", "m1", "STOP"))
    assert request["Key"] == {"modelId": {"S": "m1"}} and request["ConditionExpression"] == "attribute_exists(modelId)"
    assert request["UpdateExpression"] == "SET #a = :a" and request["ExpressionAttributeNames"] == {"#a": "scheduledAction"}
    assert request["ExpressionAttributeValues"][":a"]["M"]["action"] == {"S": "STOP"}


def test_a_schedule_fires_exactly_in_the_models_time_zone_with_the_scheduler_role():
    props = {"modelId": "m1", "modelsTable": "t", "roleArn": "arn:role", "timezone": "Asia/Tokyo"}
    schedule = declared_schedules(NIGHTS, deployment="lisa", stage="dev", model_id="m1")[0]
    request = schedule_request(props, schedule)
    assert (request["ScheduleExpression"], request["ScheduleExpressionTimezone"]) == ("cron(0 22 * * ? *)", "Asia/Tokyo")
    assert request["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert (request["Target"]["Arn"], request["Target"]["RoleArn"]) == (UPDATE_ITEM_TARGET, "arn:role")


def test_after_a_pause_only_the_last_due_transition_runs():
    after = datetime(2030, 5, 10, 12, tzinfo=timezone.utc)  # 21:00 in Tokyo; a start at 22:00 and a stop at 06:30
    found = due(NIGHTS, after, after + timedelta(hours=12))
    assert (found.action.value, found.at.strftime("%H:%M")) == ("STOP", "06:30")
    assert due(NIGHTS, after, after + timedelta(minutes=30)) is None


def test_a_pause_longer_than_a_week_counts_from_a_week_ago():
    now = datetime(2030, 5, 10, 12, tzinfo=timezone.utc)
    assert due(NIGHTS, now - timedelta(days=400), now) == due(NIGHTS, now - timedelta(days=7), now)


def test_the_clock_runs_schedules_against_the_emulator_and_eventbridge_in_aws():
    assert uses_clock("auto", "http://127.0.0.1:5000") and not uses_clock("auto", None)
    assert uses_clock("clock", None) and not uses_clock("eventbridge", "http://127.0.0.1:5000")
