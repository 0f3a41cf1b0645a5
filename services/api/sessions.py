"""Chat sessions: the caller's conversation history (LISA's `/session` API).

Every route needs a signed-in user (IdP JWT or API token, `services.serve.auth.require_user`). A session belongs
to the caller's principal id and every lookup is keyed by it, so no route can read, list, overwrite or delete
another user's session: another user's session id answers 404, exactly as an unknown id does.

Routes (errors are LISA's `{"error": "<Type>", "message": "..."}`):

    GET    /session                    → 200 [SessionSummary], newest `lastUpdated` first
    GET    /session/{sessionId}        → 200 Session | 404
    PUT    /session/{sessionId}        body PutSession → 200 {"sessionId", "lastUpdated", "message"}   create or replace
    PUT    /session/{sessionId}/name   body {"name": str} → 200 {"sessionId", "lastUpdated", "message"} | 404
    DELETE /session/{sessionId}        → 200 {"deleted": true} | 404
    DELETE /session                    → 200 {"deleted": true, "count": <n>}   all of the caller's sessions

Shapes (JSON, camelCase):

    sessionId       1-128 characters of [A-Za-z0-9_-] (the UI uses a UUID); anything else → 400
    PutSession      {"messages": [Message], "name": str | null, "model": str | null, "configuration": object | null}
                    `configuration` is free-form (model parameters, system prompt, RAG choice, …) and given back as is.
    Message         {"role": "user" | "assistant" | "system" | "tool", "content": str | [content parts],
                     "metadata": object (optional)}; LISA's `"type": "human" | "ai" | "system"` is accepted too.
                    Any other keys of a message are kept.
    Session         {"sessionId", "userId", "name", "model", "history": [Message], "configuration": object,
                     "startTime", "createTime", "lastUpdated"}          (times: ISO 8601 UTC)
    SessionSummary  {"sessionId", "name", "model", "firstHumanMessage", "messageCount",
                     "startTime", "createTime", "lastUpdated"}

A PUT keeps `createTime` of an existing session and sets `lastUpdated`. A session too large for one DynamoDB item
(> 350 KB stored) is saved whole: its history and configuration go to S3 and the item keeps a pointer; reads are
transparent. A body above the hard ceiling (LISA_SESSIONS_MAX_BYTES, 32 MiB) is refused with 413, never truncated.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["sessions"])
