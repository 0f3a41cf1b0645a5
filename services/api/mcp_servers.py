"""MCP connections: LISA's `/mcp-server` routes, plus a "test connection" that lists a server's tools.

    GET    /mcp-server                   → {"Items": [McpServer]}   what the caller may see (services/api/mcp_server_store.py)
    POST   /mcp-server                   body McpServerRequest → McpServer
    POST   /mcp-server/test              body McpServerRequest → McpTestResult  (a draft, before saving it)
    GET    /mcp-server/{serverId}        → McpServer | 404
    PUT    /mcp-server/{serverId}        body McpServerUpdate (fields left out stay) → McpServer | 403 | 404
    DELETE /mcp-server/{serverId}        → {"status": "ok"} | 403 | 404
    POST   /mcp-server/{serverId}/test   → McpTestResult | 404

`customHeaders` are written, never read back (`customHeaderNames` says which exist); they go to the server on every
request, so put an API key or a bearer token there. The URL must be http(s) and may not lead to link-local/metadata
addresses, nor to private ones unless an admin opened their network (services/mcp/addresses.py). A test that fails
answers 200 with `ok: false` and a readable `error` (the server's failure is the result, not the api's).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from core.errors import InvalidInputError
from services.api.app_state import shared
from services.api.contract import errors
from services.api.mcp_server_store import PUBLIC, McpServerStore, can_use, check_sharing
from services.identity.dependencies import require_user
from services.identity.principal import Principal
from services.mcp.addresses import checked_url
from services.mcp.connection import ServerSpec, probe
from services.mcp.settings import McpSettings

router = APIRouter(tags=["mcp"])

SERVER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")
# Headers the HTTP client or the MCP transport own: a connection may not set them.
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer",
                              "keep-alive", "content-type", "accept", "mcp-session-id", "mcp-protocol-version",
                              "last-event-id", "cookie"})
GROUP = Field(min_length=1, max_length=256)


class McpServerUpdate(BaseModel):
    """Every field optional: the ones left out keep their value. `status` is LISA's spelling of `enabled`."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    transport: Literal["streamable-http", "sse"] | None = None
    allowedGroups: list[str] | None = Field(default=None, max_length=50)
    groups: list[str] | None = Field(default=None, max_length=50, description="LISA's form: ['group:<name>']")
    enabled: bool | None = None
    status: Literal["active", "inactive"] | None = None
    approval: Literal["auto", "ask"] | None = Field(default=None, description="ask: each call waits for the user")
    owner: str | None = Field(default=None, max_length=256, description="`lisa:public` (admins only) for everyone")
    customHeaders: dict[str, str] | None = Field(default=None, description="write-only; {} removes them all")

    @field_validator("allowedGroups", "groups")
    @classmethod
    def _groups(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not g.strip() or len(g) > 256 for g in value):
            raise ValueError("each group is 1-256 characters")
        return value

    def fields(self) -> dict[str, Any]:
        """The stored fields this request sets (headers aside)."""
        out: dict[str, Any] = {k: v for k, v in {"name": self.name, "description": self.description, "url": self.url,
                                                  "transport": self.transport, "approval": self.approval}.items()
                               if v is not None}
        groups = self.allowedGroups
        if groups is None and self.groups is not None:
            groups = [g.removeprefix("group:") for g in self.groups if g != PUBLIC and g.removeprefix("group:")]
        if groups is not None:
            out["allowedGroups"] = sorted(set(groups))
        enabled = self.enabled
        if enabled is None and self.status is not None:
            enabled = self.status == "active"
        if enabled is not None:
            out["enabled"] = enabled
        return out


class McpServerRequest(McpServerUpdate):
    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=2048)


class McpServer(BaseModel):
    id: str
    created: str
    updated: str
    owner: str
    isOwner: bool
    canUse: bool
    name: str
    description: str | None = None
    url: str
    transport: Literal["streamable-http", "sse"]
    allowedGroups: list[str]
    groups: list[str] = Field(description="LISA's form of allowedGroups")
    enabled: bool
    status: Literal["active", "inactive"]
    approval: Literal["auto", "ask"]
    customHeaderNames: list[str]


class McpServerList(BaseModel):
    Items: list[McpServer]


class McpServerDeleted(BaseModel):
    status: str


class McpTool(BaseModel):
    name: str
    description: str | None = None
    inputSchema: dict[str, Any]


class McpTestResult(BaseModel):
    ok: bool
    tools: list[McpTool]
    error: str | None = None
    durationMs: int


def mcp_settings(request: Request) -> McpSettings:
    return shared(request, "mcp_settings", McpSettings)


def mcp_store(request: Request) -> McpServerStore:
    return shared(request, "mcp_servers", lambda: McpServerStore(request.app.state.platform))


def checked_server_id(server_id: str) -> str:
    if not SERVER_ID.fullmatch(server_id):
        raise InvalidInputError("serverId must be 1-64 letters, digits, '-' or '_'", param="serverId")
    return server_id


def checked_headers(headers: dict[str, str] | None, settings: McpSettings) -> dict[str, str] | None:
    if headers is None:
        return None
    if len(headers) > 32:
        raise InvalidInputError("at most 32 custom headers", param="customHeaders")
    for name, value in headers.items():
        if not HEADER_NAME.fullmatch(name) or name.lower() in RESERVED_HEADERS or name.lower().startswith("proxy-"):
            raise InvalidInputError(f"'{name}' cannot be a custom header", param="customHeaders")
        if "\r" in value or "\n" in value or len(value) > 4096:
            raise InvalidInputError(f"the value of '{name}' must be one line of at most 4096 characters",
                                    param="customHeaders")
    if sum(len(k) + len(v) for k, v in headers.items()) > settings.max_headers_bytes:
        raise InvalidInputError(f"the custom headers exceed {settings.max_headers_bytes} bytes", param="customHeaders")
    return dict(headers)


def public_view(item: dict[str, Any], principal: Principal) -> dict[str, Any]:
    groups = list(item.get("allowedGroups") or [])
    enabled = bool(item.get("enabled", True))
    return {
        "id": item["id"], "created": item["created"], "updated": item.get("updated", item["created"]),
        "owner": item["owner"], "isOwner": item["owner"] == principal.id, "canUse": can_use(item, principal),
        "name": item["name"], "description": item.get("description"), "url": item["url"],
        "transport": item.get("transport", "streamable-http"), "allowedGroups": groups,
        "groups": [f"group:{g}" for g in groups] or ([PUBLIC] if item["owner"] == PUBLIC else []),
        "enabled": enabled, "status": "active" if enabled else "inactive", "approval": item.get("approval", "auto"),
        "customHeaderNames": list(item.get("headerNames") or []),
    }


def _spec(item: dict[str, Any], headers: dict[str, str]) -> ServerSpec:
    return ServerSpec(item.get("id", "draft"), item["name"], item["url"], item.get("transport", "streamable-http"),
                      headers)


def _test_result(result) -> dict[str, Any]:
    return {"ok": result.ok, "error": result.error, "durationMs": result.duration_ms,
            "tools": [{"name": t.name, "description": t.description, "inputSchema": t.input_schema}
                      for t in result.tools]}


@router.get("/mcp-server", response_model=McpServerList, responses=errors())
def list_servers(request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    return {"Items": [public_view(i, principal) for i in mcp_store(request).list_for(principal)]}


@router.post("/mcp-server", response_model=McpServer, responses=errors())
def create_server(body: McpServerRequest, request: Request, principal: Principal = Depends(require_user)):
    settings = mcp_settings(request)
    fields = {"transport": "streamable-http", "approval": "auto", "enabled": True, "allowedGroups": [],
              **body.fields(), "owner": body.owner or principal.id}
    if fields["owner"] not in (principal.id, PUBLIC):
        raise InvalidInputError(f"owner is you or {PUBLIC}", param="owner")
    check_sharing(principal, fields["owner"], fields["allowedGroups"])
    fields["url"] = checked_url(fields["url"], settings.allowed_networks)
    item = mcp_store(request).create(principal, fields, checked_headers(body.customHeaders, settings))
    return public_view(item, principal)


@router.post("/mcp-server/test", response_model=McpTestResult, responses=errors())
async def test_draft(body: McpServerRequest, request: Request, principal: Principal = Depends(require_user)):
    settings = mcp_settings(request)
    fields = {"transport": "streamable-http", **body.fields()}
    fields["url"] = checked_url(fields["url"], settings.allowed_networks)
    return _test_result(await probe(_spec(fields, checked_headers(body.customHeaders, settings) or {}), settings))


@router.get("/mcp-server/{serverId}", response_model=McpServer, responses=errors(404))
def get_server(serverId: str, request: Request, principal: Principal = Depends(require_user)):
    return public_view(mcp_store(request).get(checked_server_id(serverId), principal), principal)


@router.put("/mcp-server/{serverId}", response_model=McpServer, responses=errors(404))
def update_server(serverId: str, body: McpServerUpdate, request: Request, principal: Principal = Depends(require_user)):
    settings, store = mcp_settings(request), mcp_store(request)
    item = store.managed(checked_server_id(serverId), principal)
    fields = body.fields()
    owner = body.owner if body.owner is not None else item["owner"]
    if owner not in (item["owner"], principal.id, PUBLIC):
        raise InvalidInputError(f"owner is you or {PUBLIC}", param="owner")
    if owner != item["owner"]:
        fields["owner"] = owner
    check_sharing(principal, owner, fields.get("allowedGroups", item.get("allowedGroups") or []))
    if "url" in fields:
        fields["url"] = checked_url(fields["url"], settings.allowed_networks)
    updated = store.update(item, fields, checked_headers(body.customHeaders, settings))
    return public_view(updated, principal)


@router.delete("/mcp-server/{serverId}", response_model=McpServerDeleted, responses=errors(404))
def delete_server(serverId: str, request: Request, principal: Principal = Depends(require_user)):
    store = mcp_store(request)
    store.delete(store.managed(checked_server_id(serverId), principal))
    return {"status": "ok"}


@router.post("/mcp-server/{serverId}/test", response_model=McpTestResult, responses=errors(404))
async def test_server(serverId: str, request: Request, principal: Principal = Depends(require_user)):
    store = mcp_store(request)
    item = await run_in_threadpool(store.get, checked_server_id(serverId), principal)
    headers = await run_in_threadpool(store.headers, item)
    return _test_result(await probe(_spec(item, headers), mcp_settings(request)))
