"""Chat sessions in the sessions table (key userId + sessionId), large ones with their body in S3.

An item holds the summary fields (name, model, times, message count, first user message, tokens used, project, pin)
and `body`, the JSON of the history and configuration. When that JSON is larger than `offload_bytes` (a DynamoDB item
holds 400 KB), it goes to the sessions bucket, gzip-compressed, and the item keeps `bodyKey` instead: a session is
saved whole or refused (413 above `max_bytes`), never cut. Every key includes a hash of the owner's id, so one user
cannot reach another's session.

Concurrent writes (two tabs, a retrying client) never leave a session pointing at a missing body:
- every body gets a key of its own (`sessions/<owner>/<session>/<uuid>.json.gz`), so no write overwrites another's;
- every item carries a `version`; a write puts its item only if the version is still the one it read (a conditional
  put), so the loser of a race learns it, deletes its own body and answers 409 (`SessionConflictError`);
- the body the item pointed at before is deleted only after the new item is in place;
- a reader that finds the body gone (deleted by a write that landed after its item read) reads the item again.
A writer that names the version it started from (`expected_version`) gets 409 when the session moved on since; one
that does not (LISA's clients) gets last-writer-wins, retried a few times inside the request before a 409.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

import orjson
from botocore.exceptions import ClientError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core import aws
from core.dynamo import ConditionFailed, Table
from core.errors import ConflictError, LisaError, NotFoundError
from services.api.feedback_store import delete_session_feedback, session_feedback

log = logging.getLogger("lisa.api.sessions")

SUMMARY_FIELDS = ("sessionId", "name", "model", "firstHumanMessage", "messageCount", "startTime", "createTime",
                  "lastUpdated", "version", "projectId", "pinned", "totalTokensUsed")
FIRST_MESSAGE_CHARS = 200
# A write that did not name a version retries the read-modify-write this many times before a 409.
UNVERSIONED_ATTEMPTS = 5
BODY_READ_ATTEMPTS = 3


class SessionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LISA_SESSIONS_")

    max_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, description="largest session body accepted")
    offload_bytes: int = Field(default=350_000, ge=1024, le=380_000, description="bodies above this go to S3")
    max_image_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, description="largest attached image")
    image_url_expiry_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600, description="presigned image URLs")


class SessionTooLargeError(LisaError):
    status = 413
    error = "SessionTooLargeError"


class SessionConflictError(ConflictError):
    error = "SessionConflictError"


class SessionBodyMissingError(LisaError):
    """The item names a body that is not in S3 even after re-reading it: lost data, not a caller's mistake."""

    status = 500
    error = "SessionBodyMissingError"


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


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def total_tokens_used(messages: Iterable[dict[str, Any]]) -> int:
    """LISA's `totalTokensUsed`: prompt + completion tokens of every message's `metadata.usage` (camel or snake)."""
    total = 0
    for message in messages:
        metadata = message.get("metadata")
        usage = metadata.get("usage") if isinstance(metadata, dict) else None
        if isinstance(usage, dict):
            total += _count(usage.get("promptTokens", usage.get("prompt_tokens")))
            total += _count(usage.get("completionTokens", usage.get("completion_tokens")))
    return total


def owner_folder(user_id: str) -> str:
    # The user id is hashed: it may hold characters S3 keys dislike, and says nothing about the user.
    return hashlib.sha256(user_id.encode()).hexdigest()[:32]


def session_prefix(user_id: str, session_id: str) -> str:
    """Every body a session ever had lives under this prefix (deleting the session deletes it all)."""
    return f"sessions/{owner_folder(user_id)}/{session_id}/"


def body_key(user_id: str, session_id: str) -> str:
    """A new, unique key for one write's body: no two writes share an object."""
    return f"{session_prefix(user_id, session_id)}{uuid.uuid4().hex}.json.gz"


def images_prefix(user_id: str, session_id: str) -> str:
    return f"images/{owner_folder(user_id)}/{session_id}/"


class SessionStore:
    def __init__(self, table_name: str, bucket: str | None, settings: SessionSettings | None = None, *,
                 feedback_table: str | None = None, after_body_put: Callable[[], None] | None = None) -> None:
        self.table = Table(table_name)
        self.feedback = Table(feedback_table) if feedback_table else None
        self.bucket = bucket
        self.settings = settings or SessionSettings()
        # Test seam: called between a write's S3 put and its item put (the window of a write race).
        self._after_body_put = after_body_put

    @staticmethod
    def _key(user_id: str, session_id: str) -> dict[str, str]:
        return {"userId": user_id, "sessionId": session_id}

    def _sessions_of(self, user_id: str, projection: tuple[str, ...]):
        return self.table.query("userId = :u", values={":u": user_id}, projection=projection)

    def list(self, user_id: str) -> list[dict[str, Any]]:
        summaries = [_summary(item) for item in self._sessions_of(user_id, SUMMARY_FIELDS)]
        return sorted(summaries, key=lambda s: s.get("lastUpdated") or "", reverse=True)

    def exists(self, user_id: str, session_id: str) -> bool:
        return self.table.get(self._key(user_id, session_id), projection=("sessionId",), consistent=True) is not None

    def get(self, user_id: str, session_id: str) -> dict[str, Any]:
        for _ in range(BODY_READ_ATTEMPTS):
            item = self.table.get(self._key(user_id, session_id), consistent=True)
            if not item:
                raise NotFoundError(f"session {session_id} does not exist", param="sessionId")
            body = self._body(item)
            if body is not None:
                feedback = session_feedback(self.feedback, user_id, session_id) if self.feedback else {}
                return {**_summary(item), "userId": user_id, "history": body.get("history", []),
                        "configuration": body.get("configuration") or {}, "feedback": feedback}
            # The body was replaced (and deleted) after this item was read: the item now names the new one.
        raise SessionBodyMissingError(f"the body of session {session_id} is missing from storage")

    def _body(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if "bodyKey" not in item:
            return orjson.loads(item.get("body", "{}"))
        try:
            raw = aws.client("s3").get_object(Bucket=self.bucket, Key=item["bodyKey"])["Body"].read()
        except ClientError as exc:
            if aws.error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return orjson.loads(gzip.decompress(raw))

    def put(self, user_id: str, session_id: str, *, messages: list[dict[str, Any]], name: str | None,
            model: str | None, configuration: dict[str, Any] | None,
            expected_version: int | None = None) -> dict[str, Any]:
        body = orjson.dumps({"history": messages, "configuration": configuration or {}})
        if len(body) > self.settings.max_bytes:
            raise SessionTooLargeError(f"the session is {len(body)} bytes; the limit is {self.settings.max_bytes}")
        offload = len(body) > self.settings.offload_bytes
        if offload and not self.bucket:
            raise SessionTooLargeError("the session is larger than a database item and this deployment has no "
                                       "sessions bucket to hold it")
        attempts = 1 if expected_version is not None else UNVERSIONED_ATTEMPTS
        for _ in range(attempts):
            saved = self._try_put(user_id, session_id, body, offload, messages, name, model, expected_version)
            if saved is not None:
                return saved
        raise SessionConflictError(f"session {session_id} was changed by another write; read it again and retry",
                                   param="version")

    def _try_put(self, user_id, session_id, body, offload, messages, name, model, expected_version):
        key = self._key(user_id, session_id)
        previous = self.table.get(key, consistent=True, projection=(
            "sessionId", "version", "createTime", "bodyKey", "name", "model", "projectId", "pinned"))
        current = int(previous.get("version", 0)) if previous else 0
        if expected_version is not None and expected_version != current:
            raise SessionConflictError(f"session {session_id} is at version {current}, not {expected_version}: "
                                       "it was changed elsewhere; read it again and retry", param="version")
        now = now_iso()
        created = (previous or {}).get("createTime", now)
        item: dict[str, Any] = {
            **key, "startTime": created, "createTime": created, "lastUpdated": now, "version": current + 1,
            "messageCount": len(messages), "firstHumanMessage": first_human_message(messages),
            "totalTokensUsed": total_tokens_used(messages),
        }
        for field, value in (("name", name), ("model", model)):  # a PUT without them keeps them
            value = value if value is not None else (previous or {}).get(field)
            if value is not None:
                item[field] = value
        for field in ("projectId", "pinned"):  # set by their own routes, kept by a PUT
            if previous and field in previous:
                item[field] = previous[field]
        new_key = None
        if offload:
            new_key = body_key(user_id, session_id)
            aws.client("s3").put_object(Bucket=self.bucket, Key=new_key, Body=gzip.compress(body, 5),
                                        ContentType="application/json", ContentEncoding="gzip")
            item["bodyKey"] = new_key
            if self._after_body_put:
                self._after_body_put()
        else:
            item["body"] = body.decode()
        try:
            if previous is None:
                self.table.put(item, condition="attribute_not_exists(sessionId)")
            elif "version" not in previous:  # written before versions existed
                self.table.put(item, condition="attribute_exists(sessionId) AND attribute_not_exists(#v)",
                               names={"#v": "version"})
            else:
                self.table.put(item, condition="#v = :v", names={"#v": "version"}, values={":v": current})
        except ConditionFailed:
            if new_key:
                self._delete_objects([new_key])
            if expected_version is not None:
                raise SessionConflictError(f"session {session_id} was changed by another write; read it again and "
                                           "retry", param="version") from None
            return None
        if previous and previous.get("bodyKey"):
            self._delete_objects([previous["bodyKey"]])  # only now: nothing points at it any more
        return {"sessionId": session_id, "lastUpdated": now, "version": current + 1}

    def update_fields(self, user_id: str, session_id: str, *, set: dict[str, Any] | None = None,
                      remove: tuple[str, ...] = ()) -> dict[str, Any]:
        """Change summary fields (name, project, pin) in place; the version moves, so a racing PUT sees it."""
        now = now_iso()
        try:
            item = self.table.update(self._key(user_id, session_id), set={**(set or {}), "lastUpdated": now},
                                     remove=remove, add={"version": 1}, condition="attribute_exists(sessionId)",
                                     returns="UPDATED_NEW")
        except ConditionFailed:
            raise NotFoundError(f"session {session_id} does not exist", param="sessionId") from None
        return {"sessionId": session_id, "lastUpdated": now, "version": int((item or {}).get("version", 0))}

    def rename(self, user_id: str, session_id: str, name: str) -> dict[str, Any]:
        return self.update_fields(user_id, session_id, set={"name": name})

    def delete(self, user_id: str, session_id: str) -> None:
        old = self.table.delete(self._key(user_id, session_id), return_old=True)
        if not old:
            raise NotFoundError(f"session {session_id} does not exist", param="sessionId")
        self._delete_files(user_id, session_id)
        if self.feedback:
            delete_session_feedback(self.feedback, user_id, session_id)

    def delete_all(self, user_id: str) -> int:
        count = 0
        for item in self._sessions_of(user_id, ("sessionId",)):
            self.table.delete(self._key(user_id, item["sessionId"]))
            self._delete_files(user_id, item["sessionId"])
            count += 1
        if self.feedback:
            delete_session_feedback(self.feedback, user_id)
        return count

    # images ---------------------------------------------------------------------------------------------------------
    def put_image(self, user_id: str, session_id: str, content_type: str, data: bytes) -> str:
        if not self.bucket:
            raise SessionTooLargeError("this deployment has no sessions bucket to keep images in")
        from services.api.session_images import image_key

        key = image_key(images_prefix(user_id, session_id), content_type)
        aws.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        return key

    def read_image(self, key: str) -> bytes:
        if not self.bucket:
            raise NotFoundError("no such image", param="name")
        try:
            obj = aws.client("s3").get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if aws.error_code(exc) in ("NoSuchKey", "404"):
                raise NotFoundError("no such image", param="name") from None
            raise
        return obj["Body"].read(self.settings.max_image_bytes + 1)

    def presign(self, key: str) -> str:
        return aws.client("s3").generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                       ExpiresIn=self.settings.image_url_expiry_s)

    def sessions_in_project(self, user_id: str, project_id: str) -> list[str]:
        return [i["sessionId"] for i in self._sessions_of(user_id, ("sessionId", "projectId"))
                if i.get("projectId") == project_id]

    # S3 ------------------------------------------------------------------------------------------------------------
    def _delete_files(self, user_id: str, session_id: str) -> None:
        """Every body (orphans of lost races included) and every attached image of the session."""
        if not self.bucket:
            return
        s3 = aws.client("s3")
        for prefix in (session_prefix(user_id, session_id), images_prefix(user_id, session_id)):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                self._delete_objects([o["Key"] for o in page.get("Contents", [])])

    def _delete_objects(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            aws.client("s3").delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys],
                                                                         "Quiet": True})
        except ClientError:  # an orphan body costs storage, not correctness: the next delete of the session sweeps it
            log.warning("could not delete %d session object(s)", len(keys), exc_info=True)


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    return {"sessionId": item.get("sessionId"), "name": item.get("name"), "model": item.get("model"),
            "firstHumanMessage": item.get("firstHumanMessage") or "", "messageCount": int(item.get("messageCount", 0)),
            "startTime": item.get("startTime"), "createTime": item.get("createTime"),
            "lastUpdated": item.get("lastUpdated"), "version": int(item.get("version", 0)),
            "projectId": item.get("projectId"), "pinned": bool(item.get("pinned", False)),
            "totalTokensUsed": int(item.get("totalTokensUsed", 0)), "isEncrypted": False}
