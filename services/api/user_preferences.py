"""User preferences kept server-side (LISA's `/user-preferences`), so they follow the user across browsers.

    GET /user-preferences   → {"user", "preferences"}   ({} before the first PUT)
    PUT /user-preferences   body {"preferences": {...}} → {"user", "preferences"}   replaces them whole

The user is always the caller (a `user` in the body is ignored: LISA's own handler trusted it). The known fields are
typed; others a client keeps there pass through, within the route's 64 KiB body limit.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from core.dynamo import Table
from services.api.contract import errors
from services.identity.dependencies import require_user
from services.identity.principal import Principal

router = APIRouter(tags=["user preferences"])
MAX_BYTES = 64 * 1024


class ModelParameters(BaseModel):
    """Default chat parameters (null: the model's default)."""

    model_config = ConfigDict(extra="ignore", strict=True)  # JSON's types as the OpenAPI states them

    temperature: float | None = Field(default=None, ge=0, le=2)
    topP: float | None = Field(default=None, ge=0, le=1)
    maxTokens: int | None = Field(default=None, ge=1, le=1_000_000)
    presencePenalty: float | None = Field(default=None, ge=-2, le=2)
    frequencyPenalty: float | None = Field(default=None, ge=-2, le=2)
    seed: int | None = None
    stop: list[str] | None = Field(default=None, max_length=4)
    reasoningEffort: Literal["minimal", "low", "medium", "high"] | None = None
    historyBuffer: int | None = Field(default=None, ge=1, le=1000, description="past messages sent with a question")


class Preferences(BaseModel):
    model_config = ConfigDict(extra="allow")

    theme: Literal["light", "dark", "system"] | None = None
    defaultModel: str | None = Field(default=None, max_length=256)
    defaultParameters: ModelParameters | None = None
    lastRepository: str | None = Field(default=None, max_length=256)


class PutPreferences(BaseModel):
    model_config = ConfigDict(extra="ignore")

    preferences: Preferences


class UserPreferences(BaseModel):
    user: str
    preferences: Preferences


def _table(request: Request) -> Table:
    return Table(request.app.state.platform.tables.user_preferences)


@router.get("/user-preferences", response_model=UserPreferences, response_model_exclude_none=True,
            responses=errors())
def get_preferences(request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    item = _table(request).get({"user": principal.id}, consistent=True) or {}
    return {"user": principal.username, "preferences": item.get("preferences") or {}}


@router.put("/user-preferences", response_model=UserPreferences, response_model_exclude_none=True,
            responses=errors())
def put_preferences(body: PutPreferences, request: Request, principal: Principal = Depends(require_user)):
    preferences = body.preferences.model_dump(exclude_none=True)
    _table(request).put({"user": principal.id, "preferences": preferences})
    return {"user": principal.username, "preferences": preferences}
