"""Feedback on answers: thumbs up or down with an optional comment, stored with the session, listed for admins.

    PUT    /session/{sessionId}/feedback               body {messageId, rating: up|down, comment} → Feedback | 404
    DELETE /session/{sessionId}/feedback/{messageId}   → {"deleted": true|false}
    GET    /feedback?days=7                            → {"items": [Feedback]} newest first, admins only (≤ 1000)

A session's feedback comes back with the session (`GET /session/{id}` → `feedback`) and goes with it when it is
deleted. Each item keeps an excerpt of the answer and the model, so admins can read it without the session.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from core.dynamo import Table
from core.errors import NotFoundError
from services.api.contract import errors
from services.api.sessions import checked_session_id, session_store
from services.identity.dependencies import require_admin, require_user
from services.identity.principal import Principal

router = APIRouter(tags=["feedback"])
EXCERPT_CHARS = 500
MAX_LISTED = 1000


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    messageId: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    rating: Literal["up", "down"]
    comment: str = Field(default="", max_length=2000)


class Feedback(BaseModel):
    sessionId: str
    messageId: str
    rating: Literal["up", "down"]
    comment: str
    createdAt: str
    username: str | None = None
    model: str | None = None
    excerpt: str = ""


class FeedbackList(BaseModel):
    items: list[Feedback]


class Deleted(BaseModel):
    deleted: bool


def feedback_table(request: Request) -> Table:
    return Table(request.app.state.platform.tables.feedback)


def _view(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item.get(k) for k in Feedback.model_fields} | {"comment": item.get("comment", ""),
                                                              "excerpt": item.get("excerpt", "")}


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return content if isinstance(content, str) else ""


@router.put("/session/{sessionId}/feedback", response_model=Feedback, responses=errors(404))
def put_feedback(sessionId: str, body: FeedbackRequest, request: Request, principal: Principal = Depends(require_user)):
    session = session_store(request).get(principal.id, checked_session_id(sessionId))
    message = next((m for m in session["history"] if m.get("id") == body.messageId), None)
    if message is None:
        raise NotFoundError(f"session {sessionId} has no message {body.messageId}", param="messageId")
    now = datetime.now(timezone.utc)
    metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
    item = {"userId": principal.id, "feedbackId": f"{sessionId}#{body.messageId}", "sessionId": sessionId,
            "messageId": body.messageId, "rating": body.rating, "comment": body.comment, "username": principal.username,
            "model": metadata.get("model") or session.get("model"),
            "excerpt": _text(message.get("content"))[:EXCERPT_CHARS],
            "createdAt": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "day": now.date().isoformat()}
    feedback_table(request).put(item)
    return _view(item)


@router.delete("/session/{sessionId}/feedback/{messageId}", response_model=Deleted, responses=errors())
def delete_feedback(sessionId: str, messageId: str, request: Request, principal: Principal = Depends(require_user)):
    old = feedback_table(request).delete({"userId": principal.id,
                                          "feedbackId": f"{checked_session_id(sessionId)}#{messageId}"},
                                         return_old=True)
    return {"deleted": old is not None}


@router.get("/feedback", response_model=FeedbackList, responses=errors())
def list_feedback(request: Request, days: int = Query(default=7, ge=1, le=90),
                  principal: Principal = Depends(require_admin)):
    table, items = feedback_table(request), []
    today = datetime.now(timezone.utc).date()
    for back in range(days):
        day = (today - timedelta(days=back)).isoformat()
        items += table.query("#d = :d", names={"#d": "day"}, values={":d": day}, index="byDay", forward=False,
                             limit=MAX_LISTED - len(items))
        if len(items) >= MAX_LISTED:
            break
    return {"items": [_view(i) for i in items]}
