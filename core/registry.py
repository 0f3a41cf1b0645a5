"""The model registry: model records and their LiteLLM registrations in the models table.

One DynamoDB table (key `modelId`) holds
- a record per model (status, spec as JSON, the registration serve routes by, when the model is routable), and
- one reserved item, `#registry`, whose `version` goes up whenever any registration changes; serve workers poll
  that one small item and rebuild their routes only when it moves.
Writes after creation are conditional updates of named attributes, so the admin API (status) and the providers
(registration) never overwrite each other's fields.
"""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.dynamo import ConditionFailed, Table
from core.errors import ConflictError, ModelAlreadyExistsError, ModelNotFoundError
from core.models import DriftReport, ModelRecord, ModelSpec, ModelStatus, ModelType
from core.schedules import ScheduleState

VERSION_KEY = "#registry"
SCHEDULE_CLOCK_KEY = "#schedule-clock"  # where the api's schedule clock stood at its last tick
SCHEDULED_ACTION = "scheduledAction"  # what an EventBridge schedule writes to a model's item: {"action", "at"}


class Registration(BaseModel):
    """A routable model as serve sees it: LiteLLM's deployment entry plus LISA's metadata."""

    model_config = ConfigDict(extra="forbid")
    model_name: str  # the id clients send as `model`
    litellm_params: dict[str, Any]  # LiteLLM's params; a secret is named by `api_key_secret_id`, never inlined
    model_type: ModelType
    streaming: bool = False
    allowed_groups: list[str] = Field(default_factory=list)  # empty: every signed-in user
    static: bool = False  # from the stage's litellmConfig (not managed by the admin API)
    api_key_secret_id: str | None = None
    created: int = Field(default_factory=lambda: int(time.time()))


_SPEC_FIELDS = set(ModelSpec.model_fields) - {"api_key"}


def _record_from_item(item: dict[str, Any]) -> ModelRecord:
    data = json.loads(item["spec"])
    data.update(
        status=item["status"],
        status_reason=item.get("statusReason"),
        enabled=item.get("enabled", True),
        created_at=item.get("createdAt"),
        updated_at=item.get("updatedAt"),
        drift=DriftReport.model_validate_json(item["drift"]).summary if item.get("drift") else None,
    )
    return ModelRecord.model_validate(data)


def _spec_json(record: ModelSpec) -> str:
    return json.dumps(record.model_dump(include=_SPEC_FIELDS, mode="json"), sort_keys=True)


class ModelRegistry:
    def __init__(self, table_name: str) -> None:
        self.table = table_name
        self._table = Table(table_name)

    # records ---------------------------------------------------------------------------------------------------
    def create(self, record: ModelRecord) -> ModelRecord:
        now = time.time()
        record = record.model_copy(update={"created_at": now, "updated_at": now})
        item = {"modelId": record.model_id, "status": record.status.value, "enabled": record.enabled,
                "spec": _spec_json(record), "createdAt": now, "updatedAt": now}
        try:
            self._table.put(item, condition="attribute_not_exists(modelId)")
        except ConditionFailed:
            raise ModelAlreadyExistsError(record.model_id) from None
        return record

    def get(self, model_id: str) -> ModelRecord:
        item = self._table.get({"modelId": model_id}, consistent=True)
        if not item or model_id.startswith("#"):
            raise ModelNotFoundError(model_id)
        return _record_from_item(item)

    def list(self) -> list[ModelRecord]:
        # `#`-keys are bookkeeping (the version counter, leases), not models.
        records = [_record_from_item(i) for i in self._table.scan(consistent=True) if not i["modelId"].startswith("#")]
        return sorted(records, key=lambda r: (r.created_at or 0, r.model_id))

    def update(
        self,
        record: ModelRecord,
        *,
        expected: set[ModelStatus] | frozenset[ModelStatus] | None = None,
        status_reason: str | None = None,
    ) -> ModelRecord:
        """Write the record's status, reason, enabled flag and spec, if its status is still one of `expected`."""
        now = time.time()
        changes: dict[str, Any] = {"status": record.status.value, "enabled": record.enabled,
                                   "spec": _spec_json(record), "updatedAt": now}
        if status_reason:
            changes["statusReason"] = status_reason[:2000]
        condition, values = "attribute_exists(modelId)", {}
        if expected:
            keys = []
            for i, status in enumerate(sorted(expected, key=lambda s: s.value)):
                values[f":x{i}"] = status.value
                keys.append(f":x{i}")
            condition += f" AND #status IN ({', '.join(keys)})"
        try:
            self._table.update({"modelId": record.model_id}, set=changes,
                               remove=() if status_reason else ("statusReason",), condition=condition,
                               names={"#status": "status"} if expected else None, values=values)
        except ConditionFailed:
            current = self.get(record.model_id)  # raises ModelNotFoundError if it is gone
            raise ConflictError(
                f"model {record.model_id} is {current.status.value}; the change needs one of "
                f"{', '.join(sorted(s.value for s in expected or ()))}"
            ) from None
        return record.model_copy(update={"updated_at": now, "status_reason": status_reason or None})

    def set_status(self, model_id: str, status: ModelStatus, *,
                   expected: set[ModelStatus] | frozenset[ModelStatus], reason: str | None = None) -> None:
        """Write only the status (and its reason), if the status is still one of `expected`; ConflictError if not."""
        values = {f":x{i}": s.value for i, s in enumerate(sorted(expected, key=lambda s: s.value))}
        condition = f"attribute_exists(modelId) AND #status IN ({', '.join(values)})"
        changes: dict[str, Any] = {"status": status.value, "updatedAt": time.time()}
        if reason:
            changes["statusReason"] = reason[:2000]
        try:
            self._table.update({"modelId": model_id}, set=changes, remove=() if reason else ("statusReason",),
                               condition=condition, names={"#status": "status"}, values=values)
        except ConditionFailed:
            current = self.get(model_id)  # raises ModelNotFoundError if it is gone
            raise ConflictError(f"model {model_id} is {current.status.value}, not one of "
                                f"{', '.join(sorted(s.value for s in expected))}") from None

    # drift and reconcile -----------------------------------------------------------------------------------------
    def record_drift(self, report: DriftReport) -> None:
        """Keep the last drift check of a model (listed with it; the full report read by `last_drift`)."""
        try:
            self._table.update({"modelId": report.model_id}, set={"drift": report.model_dump_json(by_alias=True)},
                               condition="attribute_exists(modelId)")
        except ConditionFailed:
            raise ModelNotFoundError(report.model_id) from None

    def last_drift(self, model_id: str) -> DriftReport | None:
        item = self._table.get({"modelId": model_id}, consistent=True, projection=["drift"])
        return DriftReport.model_validate_json(item["drift"]) if item and item.get("drift") else None

    def request_refresh(self, model_id: str) -> None:
        """The model's next deployment refreshes first (a reconcile): set with the Updating status."""
        self._table.update({"modelId": model_id}, set={"refreshRequested": True}, condition="attribute_exists(modelId)")

    def take_refresh_request(self, model_id: str) -> bool:
        """Whether a refresh was requested, clearing the request (the deployment about to run honours it)."""
        old = self._table.update({"modelId": model_id}, remove=("refreshRequested",),
                                 condition="attribute_exists(modelId)", returns="UPDATED_OLD")
        return bool((old or {}).get("refreshRequested"))

    def delete(self, model_id: str) -> None:
        self._table.delete({"modelId": model_id})

    # schedules -------------------------------------------------------------------------------------------------
    def scheduled_requests(self) -> list[tuple[str, dict[str, Any]]]:
        """(model id, {"action", "at"}) for each start or stop an EventBridge schedule asked for and no one ran."""
        items = self._table.scan(filter="attribute_exists(#a)", names={"#a": SCHEDULED_ACTION},
                                 projection=["modelId", SCHEDULED_ACTION], consistent=True)
        return [(i["modelId"], i[SCHEDULED_ACTION]) for i in items if isinstance(i.get(SCHEDULED_ACTION), dict)]

    def take_scheduled_request(self, model_id: str, request: dict[str, Any]) -> bool:
        """Clear a request as it was read; False when another api process took it first (it runs it, not us)."""
        try:
            self._table.update({"modelId": model_id}, remove=(SCHEDULED_ACTION,), condition="#a = :seen",
                               names={"#a": SCHEDULED_ACTION}, values={":seen": request})
        except ConditionFailed:
            return False
        return True

    def advance_schedule_clock(self, now: float) -> float | None:
        """Move the schedules' clock to `now`; the time it stood at (None the first time, or when another api process
        moved it meanwhile: then that process runs the transitions of this stretch)."""
        key = {"modelId": SCHEDULE_CLOCK_KEY}
        item = self._table.get(key, consistent=True)
        before = float(item["at"]) if item and "at" in item else None
        if before is not None and before >= now:
            return None
        try:
            if before is None:
                self._table.put({**key, "at": now}, condition="attribute_not_exists(modelId)")
            else:
                self._table.update(key, set={"at": now}, condition="#at = :before", names={"#at": "at"},
                                   values={":before": item["at"]})
        except ConditionFailed:
            return None
        return before

    def record_schedule_outcome(self, model_id: str, state: ScheduleState) -> None:
        try:
            self._table.update({"modelId": model_id}, set={"scheduleState": state.model_dump_json(by_alias=True)},
                               condition="attribute_exists(modelId)")
        except ConditionFailed:
            raise ModelNotFoundError(model_id) from None

    def schedule_state(self, model_id: str) -> ScheduleState:
        item = self._table.get({"modelId": model_id}, consistent=True, projection=["scheduleState"])
        return ScheduleState.model_validate_json(item["scheduleState"]) if item and item.get("scheduleState") \
            else ScheduleState()

    # registrations ---------------------------------------------------------------------------------------------
    def set_registration(self, model_id: str, registration: Registration | None) -> int:
        """Publish (or withdraw, with None) a model's registration and bump the registry version."""
        key = {"modelId": model_id}
        try:
            if registration is None:
                self._table.update(key, remove=["registration"], condition="attribute_exists(modelId)")
            else:
                self._table.update(key, set={"registration": registration.model_dump_json()},
                                   condition="attribute_exists(modelId)")
        except ConditionFailed:
            if registration is not None:
                raise ModelNotFoundError(model_id) from None
            # withdrawing the registration of a record that is already gone is done
        return self.bump_version()

    def get_registration(self, model_id: str) -> Registration | None:
        item = self._table.get({"modelId": model_id}, consistent=True)
        if not item or "registration" not in item:
            return None
        return Registration.model_validate_json(item["registration"])

    def registrations(self) -> list[Registration]:
        items = self._table.scan(projection=["modelId", "registration"], consistent=True)
        return [Registration.model_validate_json(i["registration"]) for i in items if "registration" in i]

    def bump_version(self) -> int:
        out = self._table.update({"modelId": VERSION_KEY}, add={"version": 1}, returns="UPDATED_NEW")
        return int(out["version"])

    def version(self) -> int:
        item = self._table.get({"modelId": VERSION_KEY}, consistent=True)
        return version_of(item)


def version_of(item: dict[str, Any] | None) -> int:
    """The registry version held by the `#registry` item (0 before the first registration)."""
    return int(item["version"]) if item and "version" in item else 0
