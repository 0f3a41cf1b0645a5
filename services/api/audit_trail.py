"""The api's side of the audit log (services/governance/audit.py): who did what from where, recorded by the routes.

`audit(request, principal, action, target, **details)` from any route (sync routes run in threads: recording is
thread-safe); the app's error handler records refused authentication and authorisation. Events are written in
batches in the background by the `AuditLog` the app starts in its lifespan.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request

from core.dynamo import Table
from services.governance.audit import AuditEvent, AuditLog
from services.identity.principal import Principal


def source_ip(request: Request) -> str | None:
    # Behind the ALB the client is the last address it appended to X-Forwarded-For (earlier ones are the caller's).
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()[:64] or None
    return request.client.host if request.client else None


def audit_log_for(table_name: str, *, refusals_per_minute: int = 20) -> AuditLog:
    table = Table(table_name)

    async def write(items: list[dict[str, Any]]) -> None:
        await asyncio.to_thread(lambda: table.batch_write(puts=items))

    return AuditLog(write, refusals_per_minute=refusals_per_minute)


def audit(request: Request, principal: Principal | None, action: str, target: str | None = None, *,
          outcome: str = "success", **details: Any) -> None:
    log: AuditLog | None = getattr(request.app.state, "audit", None)
    if log is None:
        return
    log.record(AuditEvent(
        action=action, outcome=outcome, target=target, source_ip=source_ip(request), details=details,
        actor_id=principal.id if principal else None, actor_name=principal.username if principal else None))
