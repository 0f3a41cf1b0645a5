"""Chat sessions: the caller's conversation history (LISA's `/session` API).

Every route needs a signed-in user (IdP JWT or API token, `services.identity.dependencies.require_user`). A session belongs
to the caller's principal id and every lookup is keyed by it, so no route can read, list, overwrite or delete
another user's session: another user's session id answers 404, exactly as an unknown id does.

Routes (errors are LISA's `{"error": "<Type>", "message": "..."}`):

    GET    /session                    → 200 [SessionSummary], newest `lastUpdated` first
    GET    /session/{sessionId}        → 200 Session | 404
    PUT    /session/{sessionId}        body PutSession → 200 {"sessionId", "lastUpdated", "message"}   create or replace
    PUT    /session/{sessionId}/name   body {"name": str} → 200 {"sessionId", "lastUpdated", "message"} | 404
    DELETE /session/{sessionId}        → 200 {"deleted": true} | 404
    DELETE /session                    → 200 {"deleted": true, "count": <n>}   all of the caller's sessions

Shapes (JSON, camelCase):

    sessionId       1-128 characters of [A-Za-z0-9_-] (the UI uses a UUID); anything else → 400
    PutSession      {"messages": [Message], "name": str | null, "model": str | null, "configuration": object | null}
                    `configuration` is free-form (model parameters, system prompt, RAG choice, …) and given back as is.
    Message         {"role": "user" | "assistant" | "system" | "tool", "content": str | [content parts],
                     "metadata": object (optional)}; LISA's `"type": "human" | "ai" | "system"` is accepted too.
                    Any other keys of a message are kept.
    Session         {"sessionId", "userId", "name", "model", "history": [Message], "configuration": object,
                     "startTime", "createTime", "lastUpdated"}          (times: ISO 8601 UTC)
    SessionSummary  {"sessionId", "name", "model", "firstHumanMessage", "messageCount",
                     "startTime", "createTime", "lastUpdated"}

A PUT keeps `createTime` of an existing session and sets `lastUpdated`. A session too large for one DynamoDB item
(> 350 KB stored) is saved whole: its history and configuration go to S3 and the item keeps a pointer; reads are
transparent. A body above the hard ceiling (LISA_SESSIONS_MAX_BYTES, 32 MiB) is refused with 413, never truncated.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool

from core.errors import InvalidInputError, ValidationError
from core.schema import describe_validation_errors
from services.api.session_store import SessionStore, SessionTooLargeError
from services.identity.dependencies import require_user
from services.identity.principal import Principal

router = APIRouter(tags=["sessions"])

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class Message(BaseModel):
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
    configuration: dict[str, Any] | None = None


class RenameSessionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=1024)


def _store(request: Request) -> SessionStore:
    store = getattr(request.app.state, "sessions", None)
    if store is None:
        platform = request.app.state.platform
        store = request.app.state.sessions = SessionStore(platform.tables.sessions, platform.buckets.sessions)
    return store


def _session_id(session_id: str) -> str:
    if not SESSION_ID.fullmatch(session_id):
        raise InvalidInputError("sessionId must be 1-128 characters of letters, digits, '-' and '_'", param="sessionId")
    return session_id


@router.get("/session")
def list_sessions(request: Request, principal: Principal = Depends(require_user)) -> list[dict[str, Any]]:
    return _store(request).list(principal.id)


@router.get("/session/{sessionId}")
def get_session(sessionId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return _store(request).get(principal.id, _session_id(sessionId))


@router.put("/session/{sessionId}")
async def put_session(sessionId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    store = _store(request)
    session_id = _session_id(sessionId)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > store.settings.max_bytes:  # refuse before reading it all
        raise SessionTooLargeError(f"the session is {declared} bytes; the limit is {store.settings.max_bytes}")
    raw = await request.body()
    if len(raw) > store.settings.max_bytes:
        raise SessionTooLargeError(f"the session is {len(raw)} bytes; the limit is {store.settings.max_bytes}")
    try:
        body = PutSessionRequest.model_validate_json(raw)
    except PydanticValidationError as exc:
        problems = describe_validation_errors(exc.errors())
        raise ValidationError("; ".join(problems), problems=problems) from None
    messages = [m.model_dump(exclude_none=True) for m in body.messages]
    saved = await run_in_threadpool(store.put, principal.id, session_id, messages=messages, name=body.name,
                                    model=body.model, configuration=body.configuration)
    return {**saved, "message": "session saved"}


@router.put("/session/{sessionId}/name")
def rename_session(sessionId: str, body: RenameSessionRequest, request: Request,
                   principal: Principal = Depends(require_user)) -> dict[str, Any]:
    saved = _store(request).rename(principal.id, _session_id(sessionId), body.name)
    return {**saved, "message": "session renamed"}


@router.delete("/session/{sessionId}")
def delete_session(sessionId: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    _store(request).delete(principal.id, _session_id(sessionId))
    return {"deleted": True}


@router.delete("/session")
def delete_my_sessions(request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return {"deleted": True, "count": _store(request).delete_all(principal.id)}
