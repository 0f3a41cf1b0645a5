"""`GET /audit` (admins): the audit log (services/governance/audit.py), newest first, in pages.

Filters: `actor` (an actor's id or name), `action` (an action or its start: `token` finds `token.create` and
`token.revoke`), `outcome`, and the time range (`start`, `end`; default the last 30 days). `pageSize` events a page;
`nextToken` (opaque) continues where the last page stopped, with the same filters. A page may hold fewer events than
`pageSize`, even none, while `nextToken` is set: keep following it until it is null.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from core.dynamo import Table
from core.errors import InvalidInputError
from core.schema import CamelModel
from services.api.contract import errors
from services.api.time_range import TimeRange, time_range
from services.governance.audit import AuditFilter, Cursor, read_page
from services.governance.usage import days_between
from services.identity.dependencies import require_admin
from services.identity.principal import Principal

router = APIRouter(tags=["audit"])

DEFAULT_DAYS = 30
DetailValue = str | int | float | bool | list[str] | None


class AuditItem(CamelModel):
    id: str = Field(description="unique, and ordered as the events happened")
    time: str = Field(description="ISO 8601, UTC, to the millisecond")
    action: str = Field(description="e.g. model.create, token.revoke, auth.refused")
    outcome: str = Field(description="success, denied, failed, or suppressed (a count of refusals past the log's rate)")
    actor_id: str | None = None
    actor_name: str | None = None
    target: str | None = None
    source_ip: str | None = None
    details: dict[str, DetailValue] = Field(default_factory=dict)


class AuditPage(CamelModel):
    items: list[AuditItem]
    next_token: str | None = Field(description="pass as nextToken for the next page; null after the last")


def encode_cursor(cursor: Cursor | None) -> str | None:
    if cursor is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(list(cursor), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str, days: list[str]) -> Cursor:
    """A token this route gave for these days; anything else is a 400."""
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if (isinstance(value, list) and len(value) == 2 and value[0] in days
            and (value[1] is None or (isinstance(value[1], str) and value[1].startswith(value[0]) and len(value[1]) < 200))):
        return value[0], value[1]
    raise InvalidInputError("nextToken: not a token this route gave for this time range", param="nextToken")


def _item(raw: dict[str, Any]) -> AuditItem:
    return AuditItem(id=raw["sk"], time=raw.get("time", raw["sk"][:24]), action=raw.get("action", ""),
                     outcome=raw.get("outcome", ""), actor_id=raw.get("actorId"), actor_name=raw.get("actorName"),
                     target=raw.get("target"), source_ip=raw.get("sourceIp"), details=raw.get("details") or {})


def audit_page(table_name: str, span: TimeRange, conditions: AuditFilter, page_size: int,
               next_token: str | None) -> AuditPage:
    table = Table(table_name)
    days = list(reversed(days_between(span.start, span.end)))
    bounds = {":a": span.iso(span.start).removesuffix("Z"), ":b": span.iso(span.end).removesuffix("Z") + "~"}
    cursor = decode_cursor(next_token, days) if next_token else None
    if cursor and cursor[1] is not None and not bounds[":a"] <= cursor[1] <= bounds[":b"]:
        raise InvalidInputError("nextToken: not a token this route gave for this time range", param="nextToken")
    filter_expression, names, values = conditions.expression()

    def query(day: str, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        page = table.query_page("pk = :d AND sk BETWEEN :a AND :b", values={":d": f"day#{day}", **bounds, **values},
                                names=names or None, filter=filter_expression, forward=False, limit=limit,
                                start_key={"pk": f"day#{day}", "sk": after} if after else None)
        return page.items, page.next_key["sk"] if page.next_key else None

    items, cursor = read_page(query, days, page_size, cursor)
    return AuditPage(items=[_item(i) for i in items], next_token=encode_cursor(cursor))


@router.get("/audit", response_model=AuditPage, responses=errors())
async def list_audit_events(
    request: Request,
    page_size: int = Query(default=50, ge=1, le=500, alias="pageSize"),
    next_token: str | None = Query(default=None, alias="nextToken", max_length=512),
    actor: str | None = Query(default=None, min_length=1, max_length=256, description="an actor's id or name"),
    action: str | None = Query(default=None, min_length=1, max_length=128,
                               description="an action or its start (token: token.create, token.revoke)"),
    outcome: Literal["success", "denied", "failed", "suppressed"] | None = Query(default=None),
    start: str | None = Query(default=None, max_length=64,
                              description=f"ISO 8601 or unix seconds; default: end minus {DEFAULT_DAYS} days"),
    end: str | None = Query(default=None, max_length=64, description="ISO 8601 or unix seconds; default: now"),
    _: Principal = Depends(require_admin),
) -> AuditPage:
    span = time_range(start, end, default_days=DEFAULT_DAYS, now=time.time())
    conditions = AuditFilter(actor=actor, action=action, outcome=outcome)
    return await asyncio.to_thread(audit_page, request.app.state.platform.tables.audit, span, conditions, page_size,
                                   next_token)
