"""Prompt templates: LISA's `/prompt-templates` (personas = system prompts, directives = text to insert).

    GET    /prompt-templates?public=true&q=&type=   → {"Items": [PromptTemplate]}  public=true: shared with me (all,
                                                        for admins); else mine. q searches title and body.
    POST   /prompt-templates                        body {title, body, type, groups} → PromptTemplate (revision 1)
    GET    /prompt-templates/{id}                   → the latest revision | 404
    PUT    /prompt-templates/{id}                   body (fields to change, optional `revision` it is based on)
                                                    → the new revision | 403 | 404 | 409
    DELETE /prompt-templates/{id}                   → {"status": "ok"} (every revision) | 403 | 404

`groups` is LISA's: `lisa:public` for everyone, `group:<name>` per group, [] private. `{{name}}` in a body is a
variable the chat fills in (`variables` lists them).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.errors import InvalidInputError
from services.api.app_state import shared
from services.api.contract import errors
from services.api.prompt_template_store import PUBLIC, PromptTemplateStore, check_groups, view
from services.identity.dependencies import require_user
from services.identity.principal import Principal

router = APIRouter(tags=["prompt templates"])

TEMPLATE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
Kind = Literal["persona", "directive"]


def _check_groups(value: list[str] | None) -> list[str] | None:
    if value is None:
        return value
    for group in value:
        if group != PUBLIC and not (group.startswith("group:") and 6 < len(group) <= 262):
            raise ValueError(f"each group is '{PUBLIC}' or 'group:<name>', not '{group}'")
    return sorted(set(value))


class PromptTemplateUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=100_000)
    type: Kind | None = None
    groups: list[str] | None = Field(default=None, max_length=50)
    revision: int | None = Field(default=None, ge=1, description="the revision this edit is based on (409 if older)")

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: list[str] | None) -> list[str] | None:
        return _check_groups(value)

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in {"title": self.title, "body": self.body, "type": self.type,
                                  "groups": self.groups}.items() if v is not None}


class PromptTemplateRequest(PromptTemplateUpdate):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=100_000)
    type: Kind = "persona"
    groups: list[str] = Field(default_factory=list, max_length=50)


class PromptTemplate(BaseModel):
    id: str
    created: str
    owner: str
    groups: list[str]
    title: str
    revision: int
    latest: bool
    type: Kind
    body: str
    isOwner: bool
    variables: list[str] = Field(description="the {{name}} placeholders of the body")


class PromptTemplateList(BaseModel):
    Items: list[PromptTemplate]


class Deleted(BaseModel):
    status: str


def _store(request: Request) -> PromptTemplateStore:
    return shared(request, "prompt_templates",
                  lambda: PromptTemplateStore(request.app.state.platform.tables.prompt_templates))


def _id(template_id: str) -> str:
    if not TEMPLATE_ID.fullmatch(template_id):
        raise InvalidInputError("the template id is 1-64 letters, digits, '-' or '_'", param="promptTemplateId")
    return template_id


@router.get("/prompt-templates", response_model=PromptTemplateList, responses=errors())
def list_templates(request: Request, public: bool = False, q: str | None = Query(default=None, max_length=200),
                   type: Kind | None = None, principal: Principal = Depends(require_user)):
    items = _store(request).list(principal, shared=public, query=q, kind=type)
    return {"Items": [view(i, principal) for i in items]}


@router.post("/prompt-templates", response_model=PromptTemplate, responses=errors())
def create_template(body: PromptTemplateRequest, request: Request, principal: Principal = Depends(require_user)):
    check_groups(principal, body.groups)
    return view(_store(request).create(principal, body.fields()), principal)


@router.get("/prompt-templates/{promptTemplateId}", response_model=PromptTemplate, responses=errors(404))
def get_template(promptTemplateId: str, request: Request, principal: Principal = Depends(require_user)):
    return view(_store(request).get(_id(promptTemplateId), principal), principal)


@router.put("/prompt-templates/{promptTemplateId}", response_model=PromptTemplate, responses=errors(404, 409))
def update_template(promptTemplateId: str, body: PromptTemplateUpdate, request: Request,
                    principal: Principal = Depends(require_user)):
    store = _store(request)
    current = store.get(_id(promptTemplateId), principal)
    if body.groups is not None:
        check_groups(principal, body.groups)
    return view(store.revise(current, principal, body.fields(), body.revision), principal)


@router.delete("/prompt-templates/{promptTemplateId}", response_model=Deleted, responses=errors(404))
def delete_template(promptTemplateId: str, request: Request, principal: Principal = Depends(require_user)):
    store = _store(request)
    store.delete(store.get(_id(promptTemplateId), principal), principal)
    return {"status": "ok"}
