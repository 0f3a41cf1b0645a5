"""Chat sessions: the caller's conversation history (LISA's `/session` API).

Every route needs a signed-in user (IdP JWT or API token, `services.identity.dependencies.require_user`). A session
belongs to the caller's principal id and every lookup is keyed by it, so no route can read, list, overwrite or delete
another user's session: another user's session id answers 404, exactly as an unknown id does. The shapes are the
models below (camelCase, as LISA); errors are LISA's `{"error", "message"}`.

Images (`PUT /session/{id}/attachImage`, LISA's) are kept in S3 and referenced by `s3_key`; reading the session
back gives them fresh presigned URLs (services/api/session_images.py). Feedback on answers comes back as `feedback`.

A PUT replaces the history and configuration whole (`createTime`, the project and the pin are kept) and answers
LISA's `{"message": "Session updated successfully"}` plus the new `version`. Send back the `version` you read to
refuse overwriting a session another tab changed meanwhile (409 `SessionConflictError`); without it the last write
wins. A session too large for one DynamoDB item (> 350 KB stored) is saved whole in S3 (see session_store.py); a body
above LISA_SESSIONS_MAX_BYTES (32 MiB) is refused with 413, never truncated.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from core.errors import InvalidInputError, NotFoundError
from services.api.app_state import shared
from services.api.contract import errors
from services.api.session_images import decode_image, with_fresh_urls, without_urls
from services.api.session_store import SessionStore, images_prefix
from services.identity.dependencies import require_user
from services.identity.principal import Principal

router = APIRouter(tags=["sessions"])

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class Message(BaseModel):
    """One message; LISA's `"type": "human" | "ai" | "system"` is accepted for `role`. Other keys are kept."""

    model_config = ConfigDict(extra="allow")

    role: str | None = Field(default=None, max_length=64)
    type: str | None = Field(default=None, max_length=64)
    content: str | list[Any] | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _speaker(self) -> Message:
        if not self.role and not self.type:
            raise ValueError("a message needs a role (user, assistant, system, tool) or LISA's type (human, ai, system)")
        return self


class PutSessionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    messages: list[Message] = Field(max_length=100_000)
    name: str | None = Field(default=None, max_length=1024)
    model: str | None = Field(default=None, max_length=512)
    configuration: dict[str, Any] | None = Field(default=None, description="free-form; given back as sent")
    version: int | None = Field(default=None, ge=0, strict=True,
                                description="the version this write is based on; a session "
                                "that moved on since answers 409. Leave out for last-writer-wins")


class RenameSessionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=1024)


class PinSessionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # JSON's boolean, as the OpenAPI says: not 0 or "yes"

    pinned: bool


class SessionSummary(BaseModel):
    sessionId: str
    name: str | None = None
    model: str | None = None
    firstHumanMessage: str = ""
    messageCount: int = 0
    startTime: str | None = None
    createTime: str | None = None
    lastUpdated: str | None = None
    version: int = Field(default=0, description="moves with every write; send it back with a PUT to detect races")
    projectId: str | None = None
    pinned: bool = False
    totalTokensUsed: int = Field(default=0, description="prompt + completion tokens of every message's usage")
    isEncrypted: bool = False


class Session(SessionSummary):
    userId: str
    history: list[dict[str, Any]]
    configuration: dict[str, Any]
    feedback: dict[str, dict[str, Any]] = Field(default_factory=dict, description="messageId → {rating, comment}")


class ImagePart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["image_url"]
    image_url: dict[str, Any] = Field(description='{"url": "data:image/png;base64,…"}')


class AttachImageRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message: ImagePart


class AttachedImage(BaseModel):
    """LISA's answer: the part with a presigned `image_url.url` and its `s3_key`, wrapped as LISA's handler does."""

    statusCode: int
    body: dict[str, Any]


class SessionSaved(BaseModel):
    message: str
    sessionId: str
    lastUpdated: str
    version: int


class SessionDeleted(BaseModel):
    deleted: bool


class SessionsDeleted(BaseModel):
    deleted: bool
    count: int


def session_store(request: Request) -> SessionStore:
    platform = request.app.state.platform
    return shared(request, "sessions", lambda: SessionStore(platform.tables.sessions, platform.buckets.sessions,
                                                            feedback_table=platform.tables.feedback))


def checked_session_id(session_id: str) -> str:
    if not SESSION_ID.fullmatch(session_id):
        raise InvalidInputError("sessionId must be 1-128 characters of letters, digits, '-' and '_'", param="sessionId")
    return session_id


@router.get("/session", response_model=list[SessionSummary], responses=errors())
def list_sessions(request: Request, principal: Principal = Depends(require_user)) -> list[dict[str, Any]]:
    return session_store(request).list(principal.id)


@router.get("/session/{sessionId}", response_model=Session, responses=errors(404))
def get_session(sessionId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    store, session_id = session_store(request), checked_session_id(sessionId)
    session = store.get(principal.id, session_id)
    with_fresh_urls(session["history"], images_prefix(principal.id, session_id), store.presign)
    return session


@router.put("/session/{sessionId}", response_model=SessionSaved, responses=errors(409))
async def put_session(sessionId: str, body: PutSessionRequest, request: Request,
                      principal: Principal = Depends(require_user)) -> dict[str, Any]:
    session_id = checked_session_id(sessionId)
    messages = without_urls([m.model_dump(exclude_none=True) for m in body.messages],
                            images_prefix(principal.id, session_id))
    saved = await run_in_threadpool(session_store(request).put, principal.id, session_id, messages=messages,
                                    name=body.name, model=body.model, configuration=body.configuration,
                                    expected_version=body.version)
    return {"message": "Session updated successfully", **saved}


@router.put("/session/{sessionId}/name", response_model=SessionSaved, responses=errors(404))
def rename_session(sessionId: str, body: RenameSessionRequest, request: Request,
                   principal: Principal = Depends(require_user)) -> dict[str, Any]:
    saved = session_store(request).rename(principal.id, checked_session_id(sessionId), body.name)
    return {"message": "Session name updated successfully", **saved}


@router.put("/session/{sessionId}/attachImage", response_model=AttachedImage, responses=errors())
def attach_image(sessionId: str, body: AttachImageRequest, request: Request,
                 principal: Principal = Depends(require_user)) -> dict[str, Any]:
    store, session_id = session_store(request), checked_session_id(sessionId)
    content_type, data = decode_image(str(body.message.image_url.get("url", "")), store.settings.max_image_bytes)
    key = store.put_image(principal.id, session_id, content_type, data)
    return {"statusCode": 200, "body": {"type": "image_url", "image_url": {"url": store.presign(key)}, "s3_key": key}}


IMAGE_NAME = re.compile(r"[0-9a-f]{32}\.(png|jpg|gif|webp)")
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


@router.get("/session/{sessionId}/images/{name}", response_class=Response, responses={
    **errors(404), 200: {"description": "the image", "content": {t: {} for t in IMAGE_TYPES.values()}}})
def get_image(sessionId: str, name: str, request: Request, principal: Principal = Depends(require_user)) -> Response:
    """An image of one's own session, for pages whose policy loads images only from themselves (the UI fetches it
    with its credentials and shows a blob: URL)."""
    store, session_id = session_store(request), checked_session_id(sessionId)
    match = IMAGE_NAME.fullmatch(name)
    if not match:
        raise NotFoundError(f"no image {name} in session {session_id}", param="name")
    data = store.read_image(images_prefix(principal.id, session_id) + name)
    return Response(data, media_type=IMAGE_TYPES[match.group(1)], headers={"cache-control": "private, max-age=3600"})


@router.put("/session/{sessionId}/pin", response_model=SessionSaved, responses=errors(404))
def pin_session(sessionId: str, body: PinSessionRequest, request: Request,
                principal: Principal = Depends(require_user)) -> dict[str, Any]:
    saved = session_store(request).update_fields(principal.id, checked_session_id(sessionId),
                                                 set={"pinned": body.pinned})
    return {"message": "Session pin updated successfully", **saved}


@router.delete("/session/{sessionId}", response_model=SessionDeleted, responses=errors(404))
def delete_session(sessionId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    session_store(request).delete(principal.id, checked_session_id(sessionId))
    return {"deleted": True}


@router.delete("/session", response_model=SessionsDeleted, responses=errors())
def delete_my_sessions(request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return {"deleted": True, "count": session_store(request).delete_all(principal.id)}
