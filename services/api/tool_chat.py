"""Chat with tools: the api drives the model ↔ MCP tools loop server-side, so any OpenAI client gets tools by naming
connections.

    POST /mcp/chat/completions        an OpenAI chat body + "mcpServers": [connection ids]
    POST /mcp/approvals/{approvalId}  body {"approve": bool} → {"approvalId", "status"}

Use it with any OpenAI client: `base_url=<api>/mcp`, `extra_body={"mcpServers": [...]}`. The loop
(services/mcp/tool_loop.py) lists the connections' tools with the MCP SDK, offers them as OpenAI `tools`, calls serve
with the caller's own credentials (so serve's model access, rate limits and metering apply), runs the calls the
model asks for, and loops (LISA_MCP_MAX_ROUNDS, per-call LISA_MCP_CALL_TIMEOUT_S, results cut at
LISA_MCP_RESULT_MAX_CHARS). The caller's body passes the OpenAI allow-list like serve's; `tools`/`functions` of its
own are refused (the tools come from the connections).

With `"stream": true` the answer is OpenAI's SSE stream of `chat.completion.chunk`s: the text of every round as it
comes, then the finish_reason chunk and (with `stream_options.include_usage`) the usage summed over the rounds. Tool
activity arrives as chunks with empty `choices` and a `tool_event` object:
    {"type": "server_error", "serverId", "server", "message"}               a connection failed; the chat goes on
    {"type": "tool_call", "id", "server", "serverId", "name", "arguments", "round"}
    {"type": "approval_required", ..., "approvalId", "expiresAt"}           the stream waits: POST the decision
    {"type": "approval", ..., "approvalId", "decision": approved|rejected|expired}
    {"type": "tool_result", ..., "status": ok|error|timeout|rejected|expired, "result", "truncated", "durationMs"}
    {"type": "limit", "message"}                                            max rounds reached
A failure after the stream started is OpenAI's in-stream `{"error": {...}}` then `[DONE]`; before it, a LISA error
with the model's status. Without `stream`, the answer is a `chat.completion` with the tool events in `tool_events`
(connections that ask for approval need `stream: true`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, AsyncIterator

import httpx
import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from core.errors import ConflictError, InvalidInputError, LisaError, NotFoundError, PermissionDeniedError
from core.openai_requests import CHAT, check_request
from services.api.app_state import shared
from services.api.contract import errors
from services.api.mcp_approvals import ApprovalStore, UserApprover
from services.api.mcp_server_store import can_see, can_use
from services.api.mcp_servers import checked_server_id, mcp_settings, mcp_store
from services.identity.dependencies import require_user
from services.identity.principal import Principal
from services.mcp.connection import ServerSpec
from services.mcp.tool_loop import LoopResult, ToolLoop, open_servers
from services.rag.errors import GatewayError, ModelRefusedError, StoreUnavailableError
from services.rag.gateway import ChatGateway, error_message
from services.rag.settings import RagSettings

log = logging.getLogger("lisa.api.tool_chat")
OWN_TOOLS = ("tools", "tool_choice", "functions", "function_call")
_DONE = object()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        gateway = getattr(app.state, "tool_chat_gateway", None)
        if gateway is not None:
            await gateway.aclose()


router = APIRouter(tags=["mcp"], lifespan=_lifespan)


class ToolChatRequest(BaseModel):
    """OpenAI's chat body (its other fields pass the same allow-list as serve's) plus the connections to use."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=256)
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)
    mcpServers: list[str] = Field(min_length=1, max_length=64, description="ids of MCP connections the caller may use")
    stream: bool = False


class ToolChatCompletion(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    object: str
    created: int
    model: str
    choices: list[dict[str, Any]]
    usage: dict[str, int]
    tool_events: list[dict[str, Any]]


class ApprovalDecision(BaseModel):
    model_config = ConfigDict(extra="ignore")

    approve: bool


class ApprovalStatus(BaseModel):
    approvalId: str
    status: str


def _gateway(request: Request) -> ChatGateway:
    def build() -> ChatGateway:
        settings = RagSettings()
        url = settings.serve_url or request.app.state.platform.serve_url
        if not url:
            raise StoreUnavailableError("chat with tools needs the serve gateway: set LISA_RAG_SERVE_URL")
        return ChatGateway(url, timeout_s=settings.gateway_timeout_s)

    return shared(request, "tool_chat_gateway", build)


def _approvals(request: Request) -> ApprovalStore:
    return shared(request, "mcp_approval_store",
                  lambda: ApprovalStore(request.app.state.platform.tables.mcp_approvals, mcp_settings(request)))


def _servers(request: Request, principal: Principal, ids: list[str]) -> list[dict[str, Any]]:
    settings, store = mcp_settings(request), mcp_store(request)
    ids = list(dict.fromkeys(checked_server_id(i) for i in ids))
    if len(ids) > settings.max_servers:
        raise InvalidInputError(f"at most {settings.max_servers} MCP connections per request", param="mcpServers")
    items = []
    for server_id in ids:
        item = store.table.get({"id": server_id}, consistent=True)
        if not item or not can_see(item, principal):
            raise NotFoundError(f"MCP connection {server_id} does not exist", param="mcpServers")
        if not item.get("enabled", True):
            raise ConflictError(f"MCP connection '{item['name']}' is disabled", param="mcpServers")
        if not can_use(item, principal):
            raise PermissionDeniedError(f"MCP connection '{item['name']}' is not shared with you", param="mcpServers")
        items.append({**item, "headers": store.headers(item)})
    return items


def _model_stream(gateway: ChatGateway, headers: dict[str, str]):
    async def stream(body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        response = await gateway.open(body, headers)
        try:
            if response.status_code != 200:
                content = await response.aread()
                raise ModelRefusedError(error_message(httpx.Response(response.status_code, content=content)),
                                        response.status_code)
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                try:
                    chunk = orjson.loads(data)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(chunk, dict) and isinstance(chunk.get("error"), dict):
                    raise GatewayError(f"the model failed mid-answer: {chunk['error'].get('message', 'no message')}")
                if isinstance(chunk, dict):
                    yield chunk
        except httpx.HTTPError as exc:
            raise GatewayError(f"the model's stream broke off ({type(exc).__name__})") from None
        finally:
            await response.aclose()

    return stream


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def _stream_error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, LisaError):
        return {"error": {"message": exc.message, "type": exc.error, "code": exc.code}}
    log.error("tool chat failed: %s", type(exc).__name__, exc_info=exc)
    return {"error": {"message": "the chat could not be completed", "type": "InternalError", "code": None}}


@router.post("/mcp/chat/completions", response_model=ToolChatCompletion,
             responses={**errors(404, 409, 429, 502, 503, 504),
                        200: {"description": "a chat.completion, or with stream: true an SSE stream of chunks",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def tool_chat(body: ToolChatRequest, request: Request, principal: Principal = Depends(require_user)):
    openai_body = body.model_dump(exclude={"mcpServers"})
    own = [name for name in OWN_TOOLS if name in openai_body]
    if own:
        raise InvalidInputError(f"'{own[0]}' is not accepted here: the tools come from the MCP connections",
                                param=own[0])
    check_request(CHAT, openai_body)
    settings = mcp_settings(request)
    servers = await run_in_threadpool(_servers, request, principal, body.mcpServers)
    approvals = {s["id"]: s.get("approval", "auto") for s in servers}
    if not body.stream and "ask" in approvals.values():
        raise InvalidInputError("a connection asks for approval before each call: send \"stream\": true",
                                param="stream")
    specs = [ServerSpec(s["id"], s["name"], s["url"], s.get("transport", "streamable-http"), s["headers"])
             for s in servers]
    caller = {k: v for k, v in request.headers.items() if k in ("authorization", "api-key")}
    queue: asyncio.Queue = asyncio.Queue()
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"

    async def emit(event: dict[str, Any]) -> None:
        await queue.put(event)

    async def run() -> LoopResult:
        # The loop's own error is kept aside while the connections close: raised through the SDK's task groups, it
        # would come out wrapped in an ExceptionGroup.
        outcome: LoopResult | Exception | None = None
        try:
            async with AsyncExitStack() as stack:
                connected = await open_servers(specs, settings, stack, emit)
                loop = ToolLoop(model_stream=_model_stream(_gateway(request), caller), connected=connected,
                                approvals=approvals, approver=UserApprover(_approvals(request), principal.id),
                                settings=settings, emit=emit, completion_id=completion_id)
                try:
                    outcome = await loop.run(openai_body)
                except Exception as exc:  # noqa: BLE001 (re-raised below, unwrapped)
                    outcome = exc
        except Exception:  # noqa: BLE001 (closing a connection failed; the answer is complete)
            log.info("closing MCP connections failed", exc_info=True)
        if isinstance(outcome, Exception):
            raise outcome
        if outcome is None:
            raise GatewayError("the chat with tools ended without an answer")
        return outcome

    task = asyncio.create_task(run())
    task.add_done_callback(lambda _: queue.put_nowait(_DONE))
    if not body.stream:
        return await _whole(task, queue, body.model, completion_id)
    early: list[dict[str, Any]] = []
    while True:  # hold the answer until serve accepted the first round: a refusal is then a plain error status
        event = await queue.get()
        if event is _DONE or event["kind"] == "started":
            break
        early.append(event)
    if task.done() and task.exception() is not None:
        raise task.exception()
    envelope = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body.model, "choices": []}
    return StreamingResponse(_relay(task, queue, early, envelope, done=event is _DONE), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


async def _relay(task: asyncio.Task, queue: asyncio.Queue, early: list[dict[str, Any]], envelope: dict[str, Any],
                 done: bool) -> AsyncIterator[bytes]:
    def encode(event: dict[str, Any]) -> bytes | None:
        if event["kind"] == "chunk":
            return _sse(event["chunk"])
        if event["kind"] == "tool":
            return _sse({**envelope, "tool_event": event["event"]})
        return None

    try:
        for event in early:
            if (data := encode(event)) is not None:
                yield data
        while not done:
            event = await queue.get()
            if event is _DONE:
                break
            if (data := encode(event)) is not None:
                yield data
        if task.exception() is not None:
            yield _sse(_stream_error(task.exception()))
        yield b"data: [DONE]\n\n"
    finally:
        if not task.done():  # the client went away: stop the loop (and any call or approval it waits for)
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


async def _whole(task: asyncio.Task, queue: asyncio.Queue, model: str, completion_id: str) -> dict[str, Any]:
    try:
        result = await task
    finally:
        if not task.done():
            task.cancel()
    events = []
    while not queue.empty():
        event = queue.get_nowait()
        if event is not _DONE and event["kind"] == "tool" and event["event"]["type"] != "tool_call":
            events.append(event["event"])
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": result.text},
                         "finish_reason": result.finish_reason}],
            "usage": result.usage, "tool_events": events}


@router.post("/mcp/approvals/{approvalId}", response_model=ApprovalStatus, responses=errors(404, 409))
def decide(approvalId: str, body: ApprovalDecision, request: Request, principal: Principal = Depends(require_user)):
    try:
        uuid.UUID(approvalId)
    except ValueError:
        raise NotFoundError(f"approval {approvalId} does not exist", param="approvalId") from None
    status = _approvals(request).decide(approvalId, principal.id, body.approve)
    return {"approvalId": approvalId, "status": status}
