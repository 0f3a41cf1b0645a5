"""Feedback items (table key userId + "<sessionId>#<messageId>"): what the session routes read and delete with a
session."""

from __future__ import annotations

from typing import Any

from core.dynamo import Table


def session_feedback(table: Table, user_id: str, session_id: str) -> dict[str, dict[str, Any]]:
    """messageId → feedback, for the session's GET."""
    items = table.query("userId = :u AND begins_with(feedbackId, :p)", values={":u": user_id, ":p": f"{session_id}#"})
    return {i["messageId"]: {"rating": i["rating"], "comment": i.get("comment", "")} for i in items}


def delete_session_feedback(table: Table, user_id: str, session_id: str | None = None) -> None:
    condition, values = "userId = :u", {":u": user_id}
    if session_id is not None:
        condition, values = condition + " AND begins_with(feedbackId, :p)", {**values, ":p": f"{session_id}#"}
    keys = [{"userId": user_id, "feedbackId": i["feedbackId"]}
            for i in table.query(condition, values=values, projection=("feedbackId",))]
    table.batch_write(deletes=keys)
