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
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core import aws
from core.dynamo import ConditionFailed, Table
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
        self.table = Table(table_name)
        self.bucket = bucket
        self.settings = settings or SessionSettings()

    @staticmethod
    def _key(user_id: str, session_id: str) -> dict[str, str]:
        return {"userId": user_id, "sessionId": session_id}

    def _sessions_of(self, user_id: str, projection: tuple[str, ...]):
        return self.table.query("userId = :u", values={":u": user_id}, projection=projection)

    def list(self, user_id: str) -> list[dict[str, Any]]:
        summaries = [_summary(item) for item in self._sessions_of(user_id, SUMMARY_FIELDS)]
        return sorted(summaries, key=lambda s: s.get("lastUpdated") or "", reverse=True)

    def get(self, user_id: str, session_id: str) -> dict[str, Any]:
        item = self.table.get(self._key(user_id, session_id), consistent=True)
        if not item:
            raise NotFoundError(f"session {session_id} does not exist", param="sessionId")
        if "bodyKey" in item:
            raw = aws.client("s3").get_object(Bucket=self.bucket, Key=item["bodyKey"])["Body"].read()
            body = orjson.loads(gzip.decompress(raw))
        else:
            body = orjson.loads(item.get("body", "{}"))
        return {**_summary(item), "userId": user_id, "history": body.get("history", []),
                "configuration": body.get("configuration") or {}}

    def put(self, user_id: str, session_id: str, *, messages: list[dict[str, Any]], name: str | None,
            model: str | None, configuration: dict[str, Any] | None) -> dict[str, Any]:
        body = orjson.dumps({"history": messages, "configuration": configuration or {}})
        if len(body) > self.settings.max_bytes:
            raise SessionTooLargeError(f"the session is {len(body)} bytes; the limit is {self.settings.max_bytes}")
        now = now_iso()
        key = self._key(user_id, session_id)
        previous = self.table.get(key, projection=("createTime", "bodyKey", "name"), consistent=True) or {}
        created = previous.get("createTime", now)
        item: dict[str, Any] = {
            **key, "startTime": created, "createTime": created, "lastUpdated": now,
            "messageCount": len(messages), "firstHumanMessage": first_human_message(messages),
        }
        name = name if name is not None else previous.get("name")  # a PUT without a name keeps it
        if name is not None:
            item["name"] = name
        if model is not None:
            item["model"] = model
        offload = len(body) > self.settings.offload_bytes
        if offload:
            if not self.bucket:
                raise SessionTooLargeError("the session is larger than a database item and this deployment has no "
                                           "sessions bucket to hold it")
            object_key = body_key(user_id, session_id)
            aws.client("s3").put_object(Bucket=self.bucket, Key=object_key, Body=gzip.compress(body, 5),
                                        ContentType="application/json", ContentEncoding="gzip")
            item["bodyKey"] = object_key
        else:
            item["body"] = body.decode()
        self.table.put(item)
        if "bodyKey" in previous and not offload:
            aws.client("s3").delete_object(Bucket=self.bucket, Key=previous["bodyKey"])
        return {"sessionId": session_id, "lastUpdated": now}

    def rename(self, user_id: str, session_id: str, name: str) -> dict[str, Any]:
        now = now_iso()
        try:
            self.table.update(self._key(user_id, session_id), set={"name": name, "lastUpdated": now},
                              condition="attribute_exists(sessionId)")
        except ConditionFailed:
            raise NotFoundError(f"session {session_id} does not exist", param="sessionId") from None
        return {"sessionId": session_id, "lastUpdated": now}

    def delete(self, user_id: str, session_id: str) -> None:
        old = self.table.delete(self._key(user_id, session_id), return_old=True)
        if not old:
            raise NotFoundError(f"session {session_id} does not exist", param="sessionId")
        if "bodyKey" in old:
            aws.client("s3").delete_object(Bucket=self.bucket, Key=old["bodyKey"])

    def delete_all(self, user_id: str) -> int:
        count = 0
        for item in self._sessions_of(user_id, ("sessionId", "bodyKey")):
            self.table.delete(self._key(user_id, item["sessionId"]))
            if "bodyKey" in item:
                aws.client("s3").delete_object(Bucket=self.bucket, Key=item["bodyKey"])
            count += 1
        return count


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    return {"sessionId": item.get("sessionId"), "name": item.get("name"), "model": item.get("model"),
            "firstHumanMessage": item.get("firstHumanMessage") or "", "messageCount": int(item.get("messageCount", 0)),
            "startTime": item.get("startTime"), "createTime": item.get("createTime"),
            "lastUpdated": item.get("lastUpdated")}
