"""MCP connections (LISA's `/mcp-server` items) in their table, their custom headers in Secrets Manager.

Who sees what (the rules are plain functions, unit-tested):
- the owner sees and manages their connections, enabled or not; admins see and manage all, but use in chat only
  what the rules below give them (another user's private connection carries that user's credentials);
- a connection shared with groups (`allowedGroups`) is seen and used by members of any of them while it is enabled;
- an admin may publish a connection to everyone (owner `lisa:public`, LISA's marker, no groups);
- a user may share only with groups they belong to, and never publish.
A connection's headers (API keys, bearer tokens) live in one secret per connection and are never returned: the
api answers their names only.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import orjson

from core import naming, secrets
from core.dynamo import ConditionFailed, Table
from core.errors import NotFoundError, PermissionDeniedError
from core.platform import PlatformOutputs
from services.identity.principal import Principal

PUBLIC = "lisa:public"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def can_use(item: dict[str, Any], principal: Principal) -> bool:
    """May this caller's chats call the connection's tools (with its headers)? Admins too only by these rules."""
    if not item.get("enabled", True):
        return False
    if item.get("owner") == principal.id:
        return True
    groups = set(item.get("allowedGroups") or [])
    if item.get("owner") == PUBLIC and not groups:
        return True
    return bool(groups & set(principal.groups))


def can_see(item: dict[str, Any], principal: Principal) -> bool:
    return principal.is_admin or item.get("owner") == principal.id or can_use(item, principal)


def can_manage(item: dict[str, Any], principal: Principal) -> bool:
    return principal.is_admin or item.get("owner") == principal.id


def check_sharing(principal: Principal, owner: str, groups: list[str]) -> None:
    """A user shares only with their own groups and never publishes; admins do both."""
    if principal.is_admin:
        return
    if owner == PUBLIC:
        raise PermissionDeniedError("only admins may publish a connection to everyone", param="owner")
    outside = sorted(set(groups) - set(principal.groups))
    if outside:
        raise PermissionDeniedError(f"you may share only with groups you belong to; not with {', '.join(outside)}",
                                    param="allowedGroups")


class McpServerStore:
    def __init__(self, platform: PlatformOutputs) -> None:
        self.table = Table(platform.tables.mcp_servers)
        self._secret_name = lambda server_id: naming.mcp_server_secret(platform.deployment_name,
                                                                       platform.deployment_stage, server_id)

    def list_for(self, principal: Principal) -> list[dict[str, Any]]:
        items = [i for i in self.table.scan() if can_see(i, principal)]
        return sorted(items, key=lambda i: (i.get("name", "").lower(), i["id"]))

    def get(self, server_id: str, principal: Principal) -> dict[str, Any]:
        item = self.table.get({"id": server_id}, consistent=True)
        if not item or not can_see(item, principal):
            raise NotFoundError(f"MCP connection {server_id} does not exist", param="serverId")
        return item

    def managed(self, server_id: str, principal: Principal) -> dict[str, Any]:
        item = self.get(server_id, principal)
        if not can_manage(item, principal):
            raise PermissionDeniedError("only the connection's owner or an admin may change it")
        return item

    def create(self, principal: Principal, fields: dict[str, Any], headers: dict[str, str] | None) -> dict[str, Any]:
        now = now_iso()
        server_id = str(uuid.uuid4())
        item = {**fields, "id": server_id, "created": now, "updated": now, "ownerName": principal.username,
                "headerNames": sorted(headers or {})}
        if headers:
            secrets.put(self._secret_name(server_id), orjson.dumps(headers).decode(),
                        description="headers of an MCP connection")
        self.table.put(item, condition="attribute_not_exists(id)")
        return item

    def update(self, item: dict[str, Any], fields: dict[str, Any], headers: dict[str, str] | None) -> dict[str, Any]:
        changed = {**fields, "updated": now_iso()}
        if headers is not None:
            changed["headerNames"] = sorted(headers)
            if headers:
                secrets.put(self._secret_name(item["id"]), orjson.dumps(headers).decode())
            else:
                secrets.delete(self._secret_name(item["id"]))
        try:
            return self.table.update({"id": item["id"]}, set=changed, condition="attribute_exists(id)",
                                     returns="ALL_NEW") or item
        except ConditionFailed:
            raise NotFoundError(f"MCP connection {item['id']} does not exist", param="serverId") from None

    def delete(self, item: dict[str, Any]) -> None:
        self.table.delete({"id": item["id"]})
        if item.get("headerNames"):
            secrets.delete(self._secret_name(item["id"]))

    def headers(self, item: dict[str, Any]) -> dict[str, str]:
        if not item.get("headerNames"):
            return {}
        value = orjson.loads(secrets.read(self._secret_name(item["id"])))
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
