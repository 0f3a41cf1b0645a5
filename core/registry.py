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

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from core import aws
from core.errors import ConflictError, ModelAlreadyExistsError, ModelNotFoundError
from core.models import ModelRecord, ModelSpec, ModelStatus, ModelType

VERSION_KEY = "#registry"


class Registration(BaseModel):
    """A routable model as serve sees it: LiteLLM's deployment entry plus LISA's metadata."""

    model_config = ConfigDict(extra="forbid")
    model_name: str  # the id clients send as `model`
    litellm_params: dict[str, Any]  # LiteLLM's params; a secret is named by `api_key_secret_id`, never inlined
    model_type: ModelType
    streaming: bool = False
    static: bool = False  # from the stage's litellmConfig (not managed by the admin API)
    api_key_secret_id: str | None = None
    created: int = Field(default_factory=lambda: int(time.time()))


_SPEC_FIELDS = set(ModelSpec.model_fields) - {"api_key"}


def _record_from_item(item: dict[str, Any]) -> ModelRecord:
    data = json.loads(item["spec"]["S"])
    data.update(
        status=item["status"]["S"],
        status_reason=item.get("statusReason", {}).get("S"),
        enabled=item.get("enabled", {}).get("BOOL", True),
        created_at=float(item["createdAt"]["N"]) if "createdAt" in item else None,
        updated_at=float(item["updatedAt"]["N"]) if "updatedAt" in item else None,
    )
    return ModelRecord.model_validate(data)


def _spec_json(record: ModelSpec) -> str:
    return json.dumps(record.model_dump(include=_SPEC_FIELDS, mode="json"), sort_keys=True)


class ModelRegistry:
    def __init__(self, table_name: str) -> None:
        self.table = table_name

    @property
    def _ddb(self):
        return aws.client("dynamodb")

    # records ---------------------------------------------------------------------------------------------------
    def create(self, record: ModelRecord) -> ModelRecord:
        now = time.time()
        record = record.model_copy(update={"created_at": now, "updated_at": now})
        item = {
            "modelId": {"S": record.model_id},
            "status": {"S": record.status.value},
            "enabled": {"BOOL": record.enabled},
            "spec": {"S": _spec_json(record)},
            "createdAt": {"N": repr(now)},
            "updatedAt": {"N": repr(now)},
        }
        try:
            self._ddb.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(modelId)")
        except ClientError as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                raise ModelAlreadyExistsError(record.model_id) from None
            raise
        return record

    def get(self, model_id: str) -> ModelRecord:
        item = self._ddb.get_item(TableName=self.table, Key={"modelId": {"S": model_id}}, ConsistentRead=True).get("Item")
        if not item or model_id.startswith("#"):
            raise ModelNotFoundError(model_id)
        return _record_from_item(item)

    def list(self) -> list[ModelRecord]:
        # `#`-keys are bookkeeping (the version counter, leases), not models.
        records = [_record_from_item(i) for i in self._scan() if not i["modelId"]["S"].startswith("#")]
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
        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":s": {"S": record.status.value},
            ":e": {"BOOL": record.enabled},
            ":spec": {"S": _spec_json(record)},
            ":u": {"N": repr(now)},
        }
        update = "SET #s = :s, enabled = :e, spec = :spec, updatedAt = :u"
        if status_reason:
            update += ", statusReason = :r"
            values[":r"] = {"S": status_reason[:2000]}
        else:
            update += " REMOVE statusReason"
        condition = "attribute_exists(modelId)"
        if expected:
            keys = []
            for i, status in enumerate(sorted(expected, key=lambda s: s.value)):
                values[f":x{i}"] = {"S": status.value}
                keys.append(f":x{i}")
            condition += f" AND #s IN ({', '.join(keys)})"
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key={"modelId": {"S": record.model_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                current = self.get(record.model_id)  # raises ModelNotFoundError if it is gone
                raise ConflictError(
                    f"model {record.model_id} is {current.status.value}; the change needs one of "
                    f"{', '.join(sorted(s.value for s in expected or ()))}"
                ) from None
            raise
        return record.model_copy(update={"updated_at": now, "status_reason": status_reason or None})

    def delete(self, model_id: str) -> None:
        self._ddb.delete_item(TableName=self.table, Key={"modelId": {"S": model_id}})

    # registrations ---------------------------------------------------------------------------------------------
    def set_registration(self, model_id: str, registration: Registration | None) -> int:
        """Publish (or withdraw, with None) a model's registration and bump the registry version."""
        key = {"modelId": {"S": model_id}}
        try:
            if registration is None:
                self._ddb.update_item(
                    TableName=self.table, Key=key, UpdateExpression="REMOVE registration",
                    ConditionExpression="attribute_exists(modelId)",
                )
            else:
                self._ddb.update_item(
                    TableName=self.table, Key=key, UpdateExpression="SET registration = :r",
                    ConditionExpression="attribute_exists(modelId)",
                    ExpressionAttributeValues={":r": {"S": registration.model_dump_json()}},
                )
        except ClientError as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            if registration is not None:
                raise ModelNotFoundError(model_id) from None
            # withdrawing the registration of a record that is already gone is done
        return self.bump_version()

    def get_registration(self, model_id: str) -> Registration | None:
        item = self._ddb.get_item(TableName=self.table, Key={"modelId": {"S": model_id}}, ConsistentRead=True).get("Item")
        if not item or "registration" not in item:
            return None
        return Registration.model_validate_json(item["registration"]["S"])

    def registrations(self) -> list[Registration]:
        items = self._scan(projection="modelId, registration")
        return [Registration.model_validate_json(i["registration"]["S"]) for i in items if "registration" in i]

    def bump_version(self) -> int:
        out = self._ddb.update_item(
            TableName=self.table,
            Key={"modelId": {"S": VERSION_KEY}},
            UpdateExpression="ADD version :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(out["Attributes"]["version"]["N"])

    def version(self) -> int:
        item = self._ddb.get_item(TableName=self.table, Key={"modelId": {"S": VERSION_KEY}}, ConsistentRead=True).get("Item")
        return int(item["version"]["N"]) if item else 0

    def _scan(self, projection: str | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        if projection:
            kwargs["ProjectionExpression"] = projection
        items: list[dict[str, Any]] = []
        while True:
            page = self._ddb.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
