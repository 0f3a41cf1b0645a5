"""ModelSchedule: a hosted model's start and stop times as EventBridge Scheduler schedules (a Pulumi dynamic resource).

Each schedule fires at its cron time in the model's time zone and, through the scheduler's universal DynamoDB target,
writes the action due (`{"action": "STOP", "at": <scheduled time>}`) to the model's item in the models table. The
api's schedule runner takes it from there and runs the same transition its own clock runs locally (as PUT
`enabled: false|true` does). The role the scheduler assumes may set that one attribute and nothing else
(components/iam_policies.model_scheduler_policy), so a schedule can ask for a start or stop, not change a model.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi import ResourceOptions
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from core import aws, naming
from core.registry import SCHEDULED_ACTION
from core.schedules import SchedulingConfig, cron_schedules
from providers.drift import drift
from providers.inputs import same
from providers.provider_process import FollowingProvider

SCHEDULE_GROUP = "default"
UPDATE_ITEM_TARGET = "arn:aws:scheduler:::aws-sdk:dynamodb:updateItem"
# A stop missed for an hour (the table throttled, an outage) is no longer worth running.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}


def declared_schedules(config: SchedulingConfig, *, deployment: str, stage: str, model_id: str) -> list[dict[str, str]]:
    """The schedules a model's scheduling config needs: [{"name", "expression", "action"}]."""
    return [{"name": naming.model_schedule(deployment, stage, model_id, cron.suffix), "expression": cron.expression,
             "action": cron.action.value} for cron in cron_schedules(config)]


def target_input(models_table: str, model_id: str, action: str) -> str:
    """DynamoDB UpdateItem's request, as the scheduler sends it: set the model's `scheduledAction` (if the model
    still exists). `<aws.scheduler.scheduled-time>` is filled in by the scheduler at each firing."""
    return json.dumps({
        "TableName": models_table,
        "Key": {"modelId": {"S": model_id}},
        "UpdateExpression": "SET #a = :a",
        "ConditionExpression": "attribute_exists(modelId)",
        "ExpressionAttributeNames": {"#a": SCHEDULED_ACTION},
        "ExpressionAttributeValues": {":a": {"M": {"action": {"S": action},
                                                   "at": {"S": "<aws.scheduler.scheduled-time>"}}}},
    }, sort_keys=True)


def schedule_request(props: dict[str, Any], schedule: dict[str, str]) -> dict[str, Any]:
    """CreateSchedule/UpdateSchedule's arguments for one declared schedule."""
    return {
        "Name": schedule["name"],
        "GroupName": SCHEDULE_GROUP,
        "ScheduleExpression": schedule["expression"],
        "ScheduleExpressionTimezone": props["timezone"],
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Description": f"LISA model {props['modelId']}: {schedule['action']}",
        "Target": {"Arn": UPDATE_ITEM_TARGET, "RoleArn": props["roleArn"],
                   "Input": target_input(props["modelsTable"], props["modelId"], schedule["action"]),
                   "RetryPolicy": RETRY_POLICY},
    }


def _observed(live: dict[str, Any]) -> dict[str, Any]:
    target = live.get("Target") or {}
    return {"expression": live.get("ScheduleExpression"), "timezone": live.get("ScheduleExpressionTimezone"),
            "state": live.get("State"), "roleArn": target.get("RoleArn"), "input": target.get("Input")}


def _expected(props: dict[str, Any], schedule: dict[str, str]) -> dict[str, Any]:
    request = schedule_request(props, schedule)
    return {"expression": request["ScheduleExpression"], "timezone": props["timezone"], "state": "ENABLED",
            "roleArn": props["roleArn"], "input": request["Target"]["Input"]}


def _client():
    return aws.client("scheduler")


def _get(name: str) -> dict[str, Any] | None:
    try:
        return _client().get_schedule(Name=name, GroupName=SCHEDULE_GROUP)
    except Exception as exc:  # noqa: BLE001 - only "not found" means absent
        if aws.error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def _put(props: dict[str, Any], schedule: dict[str, str]) -> None:
    request = schedule_request(props, schedule)
    if _get(schedule["name"]) is None:
        _client().create_schedule(**request)
    else:
        _client().update_schedule(**request)


def _delete(name: str) -> None:
    try:
        _client().delete_schedule(Name=name, GroupName=SCHEDULE_GROUP)
    except Exception as exc:  # noqa: BLE001
        if aws.error_code(exc) != "ResourceNotFoundException":
            raise


def schedule_drift(props: dict[str, Any]) -> list[dict[str, Any]]:
    expected = {s["name"]: _expected(props, s) for s in props["schedules"]}
    observed = {name: (_observed(live) if (live := _get(name)) is not None else None) for name in expected}
    return drift(expected, observed)


class ModelScheduleProvider(FollowingProvider):
    serialize_as_secret_always = False  # pickled by reference, holds nothing

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if not same(olds, news, "modelId"):
            return DiffResult(changes=True, replaces=["modelId"], delete_before_replace=True)
        changed = not all(same(olds, news, key) for key in ("schedules", "timezone", "roleArn", "modelsTable"))
        return DiffResult(changes=changed or bool(olds.get("drift")), replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        for schedule in props["schedules"]:
            _put(props, schedule)
        return CreateResult(props["modelId"], {**props, "drift": []})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        keep = {s["name"] for s in news["schedules"]}
        for schedule in news["schedules"]:
            _put(news, schedule)
        for schedule in olds.get("schedules") or []:
            if schedule["name"] not in keep:
                _delete(schedule["name"])
        return UpdateResult({**news, "drift": []})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The declared inputs stay; `drift` lists each schedule that is gone or differs (an update puts it back)."""
        return ReadResult(id_, {**props, "drift": schedule_drift(props)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        for schedule in props.get("schedules") or []:
            _delete(schedule["name"])


class ModelSchedule(Resource, module="lisa", name="ModelSchedule"):
    def __init__(self, name: str, *, model_id: str, config: SchedulingConfig, deployment: str, stage: str,
                 models_table: str, role_arn: str, opts: ResourceOptions | None = None) -> None:
        props = {
            "modelId": model_id,
            "modelsTable": models_table,
            "roleArn": role_arn,
            "timezone": config.timezone,
            "schedules": declared_schedules(config, deployment=deployment, stage=stage, model_id=model_id),
            "drift": None,
        }
        super().__init__(ModelScheduleProvider(), name, props, opts)
