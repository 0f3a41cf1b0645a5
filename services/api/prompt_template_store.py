"""Prompt templates (LISA's shape) by revision: one item per revision (key id + zero-padded revision), the newest
marked `latest`.

A PUT writes revision n+1 on the condition that it does not exist yet, so two concurrent edits of revision n cannot
both win: the second gets 409 and re-reads. Visibility follows LISA's `groups`: `lisa:public` is everyone,
`group:<name>` the members of <name>; the owner and admins always see a template, and only they change it.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable

from core.dynamo import ConditionFailed, Table
from core.errors import ConflictError, NotFoundError, PermissionDeniedError
from services.identity.principal import Principal

PUBLIC = "lisa:public"
MAX_LISTED = 2000
VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_ .-]{0,63}?)\s*\}\}")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def revision_key(revision: int) -> str:
    return f"{revision:08d}"


def variables(body: str) -> list[str]:
    """The `{{name}}` placeholders of a template, in order of first use."""
    return list(dict.fromkeys(m.group(1) for m in VARIABLE.finditer(body)))


def can_see(item: dict[str, Any], principal: Principal) -> bool:
    if principal.is_admin or item.get("owner") == principal.id:
        return True
    groups = set(item.get("groups") or [])
    return PUBLIC in groups or bool(groups & {f"group:{g}" for g in principal.groups})


def check_groups(principal: Principal, groups: Iterable[str]) -> None:
    """Anyone may share with everyone (as LISA); a user shares with a group only if they belong to it."""
    if principal.is_admin:
        return
    outside = sorted(g for g in groups if g != PUBLIC and g.removeprefix("group:") not in principal.groups)
    if outside:
        raise PermissionDeniedError(f"you may share only with groups you belong to; not with {', '.join(outside)}",
                                    param="groups")


def matches(item: dict[str, Any], query: str | None, kind: str | None) -> bool:
    if kind and item.get("type") != kind:
        return False
    if not query:
        return True
    needle = query.casefold()
    return needle in item.get("title", "").casefold() or needle in item.get("body", "").casefold()


def view(item: dict[str, Any], principal: Principal) -> dict[str, Any]:
    return {"id": item["id"], "created": item["created"], "owner": item.get("ownerName") or item["owner"],
            "groups": list(item.get("groups") or []), "title": item["title"], "revision": int(item["revision"]),
            "latest": bool(item.get("latest", True)), "type": item["type"], "body": item["body"],
            "isOwner": item["owner"] == principal.id, "variables": variables(item["body"])}


class PromptTemplateStore:
    def __init__(self, table_name: str) -> None:
        self.table = Table(table_name)

    def latest(self, template_id: str) -> dict[str, Any] | None:
        return next(self.table.query("id = :id", values={":id": template_id}, consistent=True, forward=False,
                                     limit=1), None)

    def get(self, template_id: str, principal: Principal) -> dict[str, Any]:
        item = self.latest(template_id)
        if not item or not can_see(item, principal):
            raise NotFoundError(f"prompt template {template_id} does not exist", param="promptTemplateId")
        return item

    def list(self, principal: Principal, *, shared: bool, query: str | None, kind: str | None) -> list[dict[str, Any]]:
        newest: dict[str, dict[str, Any]] = {}
        for item in self.table.scan(filter="#l = :t", names={"#l": "latest"}, values={":t": True},
                                    limit=MAX_LISTED):
            known = newest.get(item["id"])
            if known is None or item["revision"] > known["revision"]:  # a moment where two revisions say latest
                newest[item["id"]] = item
        mine = [i for i in newest.values() if (i["owner"] != principal.id) == shared and can_see(i, principal)]
        return sorted((i for i in mine if matches(i, query, kind)), key=lambda i: i["title"].casefold())

    def create(self, principal: Principal, fields: dict[str, Any]) -> dict[str, Any]:
        item = {**fields, "id": str(uuid.uuid4()), "revision": revision_key(1), "created": now_iso(), "latest": True,
                "owner": principal.id, "ownerName": principal.username}
        self.table.put(item, condition="attribute_not_exists(id)")
        return item

    def revise(self, current: dict[str, Any], principal: Principal, fields: dict[str, Any],
               based_on: int | None) -> dict[str, Any]:
        if not (principal.is_admin or current["owner"] == principal.id):
            raise PermissionDeniedError("only the template's owner or an admin may change it")
        revision = int(current["revision"])
        if based_on is not None and based_on != revision:
            raise ConflictError(f"the template is at revision {revision}, not {based_on}: read it again",
                                param="revision")
        item = {**current, **fields, "revision": revision_key(revision + 1), "created": now_iso(), "latest": True}
        try:
            self.table.put(item, condition="attribute_not_exists(id)")
        except ConditionFailed:
            raise ConflictError("another edit of this template landed first: read it again", param="revision") from None
        self.table.update({"id": current["id"], "revision": current["revision"]}, set={"latest": False})
        return item

    def delete(self, current: dict[str, Any], principal: Principal) -> None:
        if not (principal.is_admin or current["owner"] == principal.id):
            raise PermissionDeniedError("only the template's owner or an admin may delete it")
        keys = [{"id": i["id"], "revision": i["revision"]}
                for i in self.table.query("id = :id", values={":id": current["id"]}, projection=("id", "revision"))]
        self.table.batch_write(deletes=keys)
