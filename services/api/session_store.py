"""Chat sessions in the sessions table (key userId + sessionId), large ones with their body in S3.

An item holds the summary fields (name, model, times, message count, first user message) and `body`, the JSON of
the history and configuration. When that JSON is larger than `offload_bytes` (a DynamoDB item holds 400 KB), it goes
to the sessions bucket, gzip-compressed, and the item keeps `bodyKey` instead: a session is saved whole or refused
(413 above `max_bytes`), never cut. Every key includes the owner's id, so one user cannot reach another's session.
"""

from __future__ import annotations

import gzip
import hashlib
from datetime import datetime, timezone
from typing import Any

import orjson
from botocore.exceptions import ClientError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core import aws
from core.errors import LisaError, NotFoundError

SUMMARY_FIELDS = ("sessionId", "name", "model", "firstHumanMessage", "messageCount", "startTime", "createTime", "lastUpdated")
FIRST_MESSAGE_CHARS = 200


class SessionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LISA_SESSIONS_")

    max_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, description="largest session body accepted")
    offload_bytes: int = Field(default=350_000, ge=1024, le=380_000, description="bodies above this go to S3")


class SessionTooLargeError(LisaError):
    status = 413
    error = "SessionTooLargeError"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def first_human_message(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        if message.get("role") == "user" or message.get("type") == "human":
            text = _text(message.get("content")).strip()
            if text:
                return text[:FIRST_MESSAGE_CHARS]
    return ""


def body_key(user_id: str, session_id: str) -> str:
    # The user id is hashed: it may hold characters S3 keys dislike, and says nothing about the user.
    return f"sessions/{hashlib.sha256(user_id.encode()).hexdigest()[:32]}/{session_id}.json.gz"


class SessionStore:
    def __init__(self, table_name: str, bucket: str | None, settings: SessionSettings | None = None) -> None:
        self.table_name = table_name
        self.bucket = bucket
        self.settings = settings or SessionSettings()

    @property
    def _ddb(self):
        return aws.client("dynamodb")

    def _key(self, user_id: str, session_id: str) -> dict[str, Any]:
        return {"userId": {"S": user_id}, "sessionId": {"S": session_id}}

    def list(self, user_id: str) -> list[dict[str, Any]]:
        names = {f"#{i}": f for i, f in enumerate(SUMMARY_FIELDS)}
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": {":u": {"S": user_id}},
            "ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names,
        }
        summaries = []
        while True:
            page = self._ddb.query(**kwargs)
            summaries.extend(_summary(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(summaries, key=lambda s: s.get("lastUpdated") or "", reverse=True)

    def get(self, user_id: str, session_id: str) -> dict[str, Any]:
        item = self._ddb.get_item(TableName=self.table_name, Key=self._key(user_id, session_id),
                                  ConsistentRead=True).get("Item")
        if not item:
            raise NotFoundError(f"session {session_id} does not exist", param="sessionId")
        if "bodyKey" in item:
            raw = aws.client("s3").get_object(Bucket=self.bucket, Key=item["bodyKey"]["S"])["Body"].read()
            body = orjson.loads(gzip.decompress(raw))
        else:
            body = orjson.loads(item.get("body", {}).get("S", "{}"))
        return {**_summary(item), "userId": user_id, "history": body.get("history", []),
                "configuration": body.get("configuration") or {}}

    def put(self, user_id: str, session_id: str, *, messages: list[dict[str, Any]], name: str | None,
            model: str | None, configuration: dict[str, Any] | None) -> dict[str, Any]:
        body = orjson.dumps({"history": messages, "configuration": configuration or {}})
        if len(body) > self.settings.max_bytes:
            raise SessionTooLargeError(f"the session is {len(body)} bytes; the limit is {self.settings.max_bytes}")
        now = now_iso()
        key = self._key(user_id, session_id)
        previous = self._ddb.get_item(TableName=self.table_name, Key=key, ProjectionExpression="createTime, bodyKey, #n",
                                      ExpressionAttributeNames={"#n": "name"}, ConsistentRead=True).get("Item", {})
        created = previous.get("createTime", {}).get("S", now)
        item: dict[str, Any] = {
            **key, "startTime": {"S": created}, "createTime": {"S": created}, "lastUpdated": {"S": now},
            "messageCount": {"N": str(len(messages))}, "firstHumanMessage": {"S": first_human_message(messages)},
        }
        name = name if name is not None else previous.get("name", {}).get("S")  # a PUT without a name keeps it
        if name is not None:
            item["name"] = {"S": name}
        if model is not None:
            item["model"] = {"S": model}
        offload = len(body) > self.settings.offload_bytes
        if offload:
            if not self.bucket:
                raise SessionTooLargeError("the session is larger than a database item and this deployment has no "
                                           "sessions bucket to hold it")
            object_key = body_key(user_id, session_id)
            aws.client("s3").put_object(Bucket=self.bucket, Key=object_key, Body=gzip.compress(body, 5),
                                        ContentType="application/json", ContentEncoding="gzip")
            item["bodyKey"] = {"S": object_key}
        else:
            item["body"] = {"S": body.decode()}
        self._ddb.put_item(TableName=self.table_name, Item=item)
        if "bodyKey" in previous and not offload:
            aws.client("s3").delete_object(Bucket=self.bucket, Key=previous["bodyKey"]["S"])
        return {"sessionId": session_id, "lastUpdated": now}

    def rename(self, user_id: str, session_id: str, name: str) -> dict[str, Any]:
        now = now_iso()
        try:
            self._ddb.update_item(
                TableName=self.table_name, Key=self._key(user_id, session_id),
                UpdateExpression="SET #n = :n, lastUpdated = :t", ConditionExpression="attribute_exists(sessionId)",
                ExpressionAttributeNames={"#n": "name"}, ExpressionAttributeValues={":n": {"S": name}, ":t": {"S": now}},
            )
        except ClientError as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                raise NotFoundError(f"session {session_id} does not exist", param="sessionId") from None
            raise
        return {"sessionId": session_id, "lastUpdated": now}

    def delete(self, user_id: str, session_id: str) -> None:
        old = self._ddb.delete_item(TableName=self.table_name, Key=self._key(user_id, session_id),
                                    ReturnValues="ALL_OLD").get("Attributes")
        if not old:
            raise NotFoundError(f"session {session_id} does not exist", param="sessionId")
        if "bodyKey" in old:
            aws.client("s3").delete_object(Bucket=self.bucket, Key=old["bodyKey"]["S"])

    def delete_all(self, user_id: str) -> int:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": {":u": {"S": user_id}}, "ProjectionExpression": "sessionId, bodyKey",
        }
        count = 0
        while True:
            page = self._ddb.query(**kwargs)
            for item in page.get("Items", []):
                self._ddb.delete_item(TableName=self.table_name, Key=self._key(user_id, item["sessionId"]["S"]))
                if "bodyKey" in item:
                    aws.client("s3").delete_object(Bucket=self.bucket, Key=item["bodyKey"]["S"])
                count += 1
            if "LastEvaluatedKey" not in page:
                return count
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    def s(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    return {"sessionId": s("sessionId"), "name": s("name"), "model": s("model"),
            "firstHumanMessage": s("firstHumanMessage") or "",
            "messageCount": int(item["messageCount"]["N"]) if "messageCount" in item else 0,
            "startTime": s("startTime"), "createTime": s("createTime"), "lastUpdated": s("lastUpdated")}
