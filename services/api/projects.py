"""Projects (folders) of sessions: LISA's `/project` routes, per user.

    GET    /project                                   → [Project] oldest first
    POST   /project                                   body {name} → Project | 400 past maxProjectsPerUser
    PUT    /project/{projectId}                       body {name} → {"message"} | 404
    DELETE /project/{projectId}?deleteSessions=false  → {"deleted": true} | 404  (its sessions go back to the
                                                        history, or are deleted with `deleteSessions`)
    PUT    /project/{projectId}/session/{sessionId}   body {"unassign": false} → {"message", "version"} | 404 | 409

A project is marked `deleting` before its sessions are moved or deleted, so no session is assigned to it meanwhile
(409). A session's project is a field of the session item, changed in place with its version (a racing session PUT
keeps it).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from core.dynamo import ConditionFailed, Table
from core.errors import ConflictError, InvalidInputError, NotFoundError
from services.api.configuration import configuration_store
from services.api.contract import errors
from services.api.session_store import now_iso
from services.api.sessions import checked_session_id, session_store
from services.identity.dependencies import require_user
from services.identity.principal import Principal

router = APIRouter(tags=["projects"])

PROJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ProjectName(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=100)


class DeleteProjectRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    deleteSessions: bool = False


class AssignSessionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    unassign: bool = False


class Project(BaseModel):
    projectId: str
    name: str
    createTime: str
    lastUpdated: str


class Message(BaseModel):
    message: str


class SessionAssigned(Message):
    sessionId: str
    version: int = Field(description="the session's new version (its project moved it)")


class Deleted(BaseModel):
    deleted: bool


def _table(request: Request) -> Table:
    return Table(request.app.state.platform.tables.projects)


def _project_id(project_id: str) -> str:
    if not PROJECT_ID.fullmatch(project_id):
        raise InvalidInputError("projectId is 1-64 letters, digits, '-' or '_'", param="projectId")
    return project_id


def _view(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ("projectId", "name", "createTime", "lastUpdated")}


def _existing(table: Table, user_id: str, project_id: str) -> dict[str, Any]:
    item = table.get({"userId": user_id, "projectId": project_id}, consistent=True)
    if not item:
        raise NotFoundError(f"project {project_id} does not exist", param="projectId")
    return item


@router.get("/project", response_model=list[Project], responses=errors())
def list_projects(request: Request, principal: Principal = Depends(require_user)):
    items = [i for i in _table(request).query("userId = :u", values={":u": principal.id})
             if i.get("status") != "deleting"]
    return [_view(i) for i in sorted(items, key=lambda i: i["createTime"])]


@router.post("/project", response_model=Project, responses=errors())
def create_project(body: ProjectName, request: Request, principal: Principal = Depends(require_user)):
    table = _table(request)
    limit = configuration_store(request).current()["configuration"]["maxProjectsPerUser"]
    count = sum(1 for _ in table.query("userId = :u", values={":u": principal.id}, projection=("projectId",)))
    if count >= limit:
        raise InvalidInputError(f"Project limit of {limit} reached", param="name")
    now = now_iso()
    item = {"userId": principal.id, "projectId": str(uuid.uuid4()), "name": body.name, "createTime": now,
            "lastUpdated": now}
    table.put(item, condition="attribute_not_exists(projectId)")
    return _view(item)


@router.put("/project/{projectId}", response_model=Message, responses=errors(404))
def rename_project(projectId: str, body: ProjectName, request: Request, principal: Principal = Depends(require_user)):
    try:
        _table(request).update({"userId": principal.id, "projectId": _project_id(projectId)},
                               set={"name": body.name, "lastUpdated": now_iso()},
                               condition="attribute_exists(projectId)")
    except ConditionFailed:
        raise NotFoundError(f"project {projectId} does not exist", param="projectId") from None
    return {"message": "Project renamed successfully"}


@router.delete("/project/{projectId}", response_model=Deleted, responses=errors(404))
async def delete_project(projectId: str, request: Request, deleteSessions: bool = False,
                         body: DeleteProjectRequest | None = Body(default=None),
                         principal: Principal = Depends(require_user)):
    table, sessions = _table(request), session_store(request)
    key = {"userId": principal.id, "projectId": _project_id(projectId)}
    delete_sessions = deleteSessions or bool(body and body.deleteSessions)

    def delete() -> None:
        try:
            table.update(key, set={"status": "deleting"}, condition="attribute_exists(projectId)")
        except ConditionFailed:
            raise NotFoundError(f"project {projectId} does not exist", param="projectId") from None
        for session_id in sessions.sessions_in_project(principal.id, projectId):
            try:
                if delete_sessions:
                    sessions.delete(principal.id, session_id)
                else:
                    sessions.update_fields(principal.id, session_id, remove=("projectId",))
            except NotFoundError:
                pass  # deleted meanwhile
        table.delete(key)

    await run_in_threadpool(delete)
    return {"deleted": True}


@router.put("/project/{projectId}/session/{sessionId}", response_model=SessionAssigned,
            responses=errors(404, 409))
def assign_session(projectId: str, sessionId: str, request: Request,
                   body: AssignSessionRequest = Body(default_factory=AssignSessionRequest),
                   principal: Principal = Depends(require_user)):
    table, sessions = _table(request), session_store(request)
    project_id, session_id = _project_id(projectId), checked_session_id(sessionId)
    if body.unassign:
        saved = sessions.update_fields(principal.id, session_id, remove=("projectId",))
    else:
        project = _existing(table, principal.id, project_id)
        if project.get("status") == "deleting":
            raise ConflictError("Project is being deleted", param="projectId")
        saved = sessions.update_fields(principal.id, session_id, set={"projectId": project_id})
    try:
        table.update({"userId": principal.id, "projectId": project_id}, set={"lastUpdated": now_iso()},
                     condition="attribute_exists(projectId)")
    except ConditionFailed:
        if not body.unassign:
            raise NotFoundError(f"project {projectId} does not exist", param="projectId") from None
    return {"message": "Session assignment updated successfully", "sessionId": saved["sessionId"],
            "version": saved["version"]}
