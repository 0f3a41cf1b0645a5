"""Tool calls waiting for their user's approval, in a table every api process reads (the stream that waits and the
request that decides may reach different processes).

The waiting loop polls its item (a consistent read every `approval_poll_s`) until the user decides or the approval
expires; the item then expires from the table by TTL. Only the user whose chat asked may decide, once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Literal

import orjson
from starlette.concurrency import run_in_threadpool

from core.dynamo import ConditionFailed, Table
from core.errors import ConflictError, NotFoundError
from services.mcp.settings import McpSettings

Status = Literal["pending", "approved", "rejected", "expired"]
ARGUMENTS_CHARS = 4000
KEEP_S = 24 * 3600  # decided approvals stay readable this long, then DynamoDB's TTL removes them


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class ApprovalStore:
    def __init__(self, table_name: str, settings: McpSettings) -> None:
        self.table = Table(table_name)
        self.settings = settings

    def create(self, user_id: str, call: dict[str, Any]) -> tuple[str, str]:
        approval_id = str(uuid.uuid4())
        deadline = time.time() + self.settings.approval_timeout_s
        self.table.put({"approvalId": approval_id, "userId": user_id, "status": "pending", "deadline": int(deadline),
                        "expiresAt": int(deadline + KEEP_S), "name": str(call.get("name")),
                        "server": str(call.get("server")),
                        "arguments": orjson.dumps(call.get("arguments")).decode()[:ARGUMENTS_CHARS]},
                       condition="attribute_not_exists(approvalId)")
        return approval_id, _iso(deadline)

    def status(self, approval_id: str) -> Status | None:
        item = self.table.get({"approvalId": approval_id}, consistent=True, projection=("status",))
        return item["status"] if item else None

    def expire(self, approval_id: str) -> Status:
        """Settle a pending approval past its deadline; a decision that won the race stands."""
        try:
            self.table.update({"approvalId": approval_id}, set={"status": "expired"},
                              condition="#s = :pending", names={"#s": "status"}, values={":pending": "pending"})
            return "expired"
        except ConditionFailed:
            return self.status(approval_id) or "expired"

    def decide(self, approval_id: str, user_id: str, approve: bool) -> Status:
        status: Status = "approved" if approve else "rejected"
        try:
            self.table.update({"approvalId": approval_id}, set={"status": status, "decidedAt": _iso(time.time())},
                              condition="userId = :u AND #s = :pending AND deadline > :now",
                              names={"#s": "status"},
                              values={":u": user_id, ":pending": "pending", ":now": int(time.time())})
            return status
        except ConditionFailed:
            item = self.table.get({"approvalId": approval_id}, consistent=True)
        if not item or item.get("userId") != user_id:
            raise NotFoundError(f"approval {approval_id} does not exist", param="approvalId")
        settled = item["status"] if item["status"] != "pending" else "expired"
        raise ConflictError(f"approval {approval_id} is already {settled}", param="approvalId")


class UserApprover:
    """The tool loop's `Approver` for one user's chat."""

    def __init__(self, store: ApprovalStore, user_id: str) -> None:
        self.store = store
        self.user_id = user_id

    async def create(self, call: dict[str, Any]) -> tuple[str, str]:
        return await run_in_threadpool(self.store.create, self.user_id, call)

    async def wait(self, approval_id: str) -> Status:
        settings = self.store.settings
        deadline = time.monotonic() + settings.approval_timeout_s
        while time.monotonic() < deadline:
            status = await run_in_threadpool(self.store.status, approval_id)
            if status in ("approved", "rejected", "expired"):
                return status
            await asyncio.sleep(settings.approval_poll_s)
        return await run_in_threadpool(self.store.expire, approval_id)
