"""The admin configuration: LISA's `/configuration` (which components users get, the system banner, project limit).

    GET /configuration?configScope=global   → [ConfigurationItem] newest version first (any user: the UI reads it)
    PUT /configuration/{configScope}        body ConfigurationItem → {"status": "ok"}  admins only; 409 when the
                                            `versionId` sent exists already (another admin saved first)
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.errors import InvalidInputError
from services.api.app_state import shared
from services.api.configuration_store import ConfigurationStore
from services.api.contract import errors
from services.identity.dependencies import require_admin, require_user
from services.identity.principal import Principal

router = APIRouter(tags=["configuration"])

SCOPE = re.compile(r"[A-Za-z0-9_-]{1,64}")
COLOR = r"^#[0-9A-Fa-f]{6}$"


class SystemBanner(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # JSON's types as the OpenAPI states them: no 0 for false

    isEnabled: bool = False
    text: str = Field(default="", max_length=500)
    textColor: str = Field(default="#000000", pattern=COLOR)
    backgroundColor: str = Field(default="#ffd54f", pattern=COLOR)


class Configuration(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    enabledComponents: dict[str, bool] = Field(default_factory=dict, description="LISA's component switches")
    maxProjectsPerUser: int = Field(default=50, ge=1, le=1000)
    systemBanner: SystemBanner = Field(default_factory=SystemBanner)

    @field_validator("enabledComponents")
    @classmethod
    def _names(cls, value: dict[str, bool]) -> dict[str, bool]:
        if len(value) > 100 or any(not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,63}", k) for k in value):
            raise ValueError("at most 100 components, each named by 1-64 letters and digits")
        return value


class ConfigurationUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    configScope: str | None = None
    versionId: int | None = Field(default=None, ge=1, description="the new version; default: the newest + 1")
    changeReason: str = Field(default="", max_length=500)
    configuration: Configuration


class ConfigurationItem(BaseModel):
    configScope: str
    versionId: int
    changedBy: str
    changeReason: str
    createdAt: str | None = None
    configuration: Configuration


class Saved(BaseModel):
    status: str


def configuration_store(request: Request) -> ConfigurationStore:
    return shared(request, "configuration",
                  lambda: ConfigurationStore(request.app.state.platform.tables.configuration))


def _scope(scope: str) -> str:
    if not SCOPE.fullmatch(scope):
        raise InvalidInputError("configScope is 1-64 letters, digits, '-' or '_'", param="configScope")
    return scope


@router.get("/configuration", response_model=list[ConfigurationItem], responses=errors())
def get_configuration(request: Request, configScope: str = "global",
                      principal: Principal = Depends(require_user)) -> list[dict[str, Any]]:
    return configuration_store(request).history(_scope(configScope))


@router.put("/configuration/{configScope}", response_model=Saved, responses=errors(409))
def put_configuration(configScope: str, body: ConfigurationUpdate, request: Request,
                      principal: Principal = Depends(require_admin)) -> dict[str, str]:
    scope = _scope(configScope)
    if body.configScope not in (None, scope):
        raise InvalidInputError("configScope in the body differs from the path", param="configScope")
    configuration_store(request).put(scope, body.configuration.model_dump(), changed_by=principal.username,
                                     change_reason=body.changeReason, version=body.versionId)
    return {"status": "ok"}
