"""The model ↔ tools loop: offer the connections' tools, run the calls the model asks for, feed the results back, until
the model answers (or the rounds run out), streaming every step.

One round = one streamed chat completion from serve (the caller's credentials, serve's policies) with the tools
offered. Its text is relayed as it arrives; tool-call deltas are assembled, not relayed. When the round ends with
`tool_calls`, each call runs in order (after the user's approval for connections that ask), its result goes back as
a `tool` message, and the next round starts. After `max_rounds` rounds with tools the model gets one more round
without them, so it answers with what it has. Every request to serve passes the OpenAI allow-list
(core.openai_requests.check_request), whatever the caller or a tool put in it.

Events go to `emit` as plain dicts:
    {"kind": "started"}                        serve accepted the first round (the HTTP answer may start)
    {"kind": "chunk", "chunk": <chat.completion.chunk>}   text, then the final finish_reason and usage chunks
    {"kind": "tool", "event": ToolEvent}       type: server_error | tool_call | approval_required | approval |
                                               tool_result | limit
"""

from __future__ import annotations

import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Literal, Protocol

from core.openai_requests import CHAT, check_request
from services.mcp.connection import McpConnection, McpServerError, ServerSpec, ToolTimeoutError
from services.mcp.settings import McpSettings
from services.mcp.tools import OfferedTool, ToolCallAssembler, ToolCatalog, ToolCallDraft, parse_arguments

Emit = Callable[[dict[str, Any]], Awaitable[None]]
ModelStream = Callable[[dict[str, Any]], AsyncIterator[dict[str, Any]]]
Approval = Literal["auto", "ask"]
Decision = Literal["approved", "rejected", "expired"]


class Approver(Protocol):
    async def create(self, call: dict[str, Any]) -> tuple[str, str]:
        """A pending approval for this call: its id and when it expires (ISO 8601)."""

    async def wait(self, approval_id: str) -> Decision: ...


@dataclass
class Connected:
    connections: dict[str, McpConnection] = field(default_factory=dict)
    catalog: ToolCatalog = field(default_factory=ToolCatalog)


async def open_servers(specs: list[ServerSpec], settings: McpSettings, stack: AsyncExitStack, emit: Emit) -> Connected:
    """Connect to each server and list its tools; a server that fails is reported and left out, the rest serve."""
    connected = Connected()
    for spec in specs:
        connection = McpConnection(spec, settings)
        try:
            await connection.open(stack)
            tools = await connection.list_tools()
        except McpServerError as exc:
            await emit({"kind": "tool", "event": {"type": "server_error", "serverId": spec.id, "server": spec.name,
                                                  "message": exc.message}})
            continue
        connected.connections[spec.id] = connection
        for tool in tools:
            connected.catalog.add(spec.id, spec.name, tool.name, tool.description, tool.input_schema)
    return connected


@dataclass
class LoopResult:
    text: str = ""
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0,
                                                           "total_tokens": 0})
    tool_events: list[dict[str, Any]] = field(default_factory=list)
    rounds: int = 0


class ToolLoop:
    def __init__(self, *, model_stream: ModelStream, connected: Connected, approvals: dict[str, Approval],
                 approver: Approver, settings: McpSettings, emit: Emit, completion_id: str | None = None) -> None:
        self.model_stream = model_stream
        self.connected = connected
        self.approvals = approvals
        self.approver = approver
        self.settings = settings
        self._emit = emit
        self.id = completion_id or f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.result = LoopResult()
        self._started = False

    async def _tool_event(self, event: dict[str, Any]) -> None:
        if event["type"] != "tool_call":  # a call's result event repeats what its call event said
            self.result.tool_events.append(event)
        await self._emit({"kind": "tool", "event": event})

    def _chunk(self, model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    async def run(self, body: dict[str, Any]) -> LoopResult:
        """`body`: the caller's chat request, already checked against the allow-list, without tools."""
        model = body["model"]
        messages = list(body["messages"])
        catalog = self.connected.catalog
        for round_number in range(1, self.settings.max_rounds + 2):
            offer = bool(catalog.tools) and round_number <= self.settings.max_rounds
            if catalog.tools and not offer:
                await self._tool_event({"type": "limit", "message": f"the model asked for tools "
                                        f"{self.settings.max_rounds} rounds in a row; it answers now without them"})
            request = {**body, "messages": messages, "stream": True, "stream_options": {"include_usage": True}}
            if offer:
                request["tools"] = catalog.as_openai()
            check_request(CHAT, request)
            self.result.rounds = round_number
            text, calls, finish = await self._round(request, model)
            self.result.text += text
            if finish != "tool_calls" or not calls or not offer:
                self.result.finish_reason = finish or "stop"
                break
            messages.append({"role": "assistant", "content": text or None, "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in calls]})
            for call in calls:
                messages.append(await self._call(call, round_number))
        await self._emit({"kind": "chunk", "chunk": self._chunk(model, {}, self.result.finish_reason)})
        if (body.get("stream_options") or {}).get("include_usage"):
            await self._emit({"kind": "chunk", "chunk": {"id": self.id, "object": "chat.completion.chunk",
                                                         "created": self.created, "model": model, "choices": [],
                                                         "usage": dict(self.result.usage)}})
        return self.result

    async def _round(self, request: dict[str, Any], model: str) -> tuple[str, list[ToolCallDraft], str | None]:
        text, finish = "", None
        # The rounds' texts read as paragraphs: "Let me check." then, after the tools, the answer.
        separator = "\n\n" if self.result.text and not self.result.text.endswith("\n") else ""
        assembler = ToolCallAssembler()
        async for chunk in self.model_stream(request):
            if not self._started:
                self._started = True
                await self._emit({"kind": "started"})
            usage = chunk.get("usage")
            if isinstance(usage, dict):
                for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
                    value = usage.get(key)
                    if isinstance(value, int) and not isinstance(value, bool):
                        self.result.usage[key] += value
            for choice in chunk.get("choices") or []:
                if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or {}
                relayed = {k: delta[k] for k in ("content", "reasoning_content") if isinstance(delta.get(k), str)}
                if relayed.get("content") or relayed.get("reasoning_content"):
                    if relayed.get("content") and separator:
                        relayed["content"], separator = separator + relayed["content"], ""
                    text += relayed.get("content", "")
                    await self._emit({"kind": "chunk", "chunk": self._chunk(model, relayed)})
                if isinstance(delta.get("tool_calls"), list):
                    assembler.add(delta["tool_calls"])
                finish = choice.get("finish_reason") or finish
        calls = assembler.calls
        if calls and finish in (None, "stop"):
            finish = "tool_calls"  # some servers end a tool-call turn with "stop"
        return text, calls, finish

    async def _call(self, call: ToolCallDraft, round_number: int) -> dict[str, Any]:
        tool: OfferedTool | None = self.connected.catalog.find(call.name)
        arguments = parse_arguments(call.arguments)
        base = {"id": call.id, "name": tool.name if tool else call.name, "server": tool.server_name if tool else None,
                "serverId": tool.server_id if tool else None, "arguments": arguments if arguments is not None
                else call.arguments, "round": round_number}
        await self._tool_event({"type": "tool_call", **base})
        status, text, truncated, duration = await self._outcome(tool, arguments, base)
        await self._tool_event({"type": "tool_result", **base, "status": status, "result": text,
                                "truncated": truncated, "durationMs": duration})
        return {"role": "tool", "tool_call_id": call.id, "content": text}

    async def _outcome(self, tool: OfferedTool | None, arguments: dict[str, Any] | None,
                       base: dict[str, Any]) -> tuple[str, str, bool, int]:
        if tool is None:
            return "error", f"there is no tool named {base['name']}", False, 0
        if arguments is None:
            return "error", "the arguments are not a JSON object", False, 0
        if self.approvals.get(tool.server_id) == "ask":
            approval_id, expires_at = await self.approver.create(base)
            await self._tool_event({"type": "approval_required", **base, "approvalId": approval_id,
                                    "expiresAt": expires_at})
            decision = await self.approver.wait(approval_id)
            await self._tool_event({"type": "approval", **base, "approvalId": approval_id, "decision": decision})
            if decision == "rejected":
                return "rejected", "The user declined this tool call.", False, 0
            if decision == "expired":
                return "expired", (f"No approval arrived within {self.settings.approval_timeout_s:g} s; the tool "
                                   "was not called."), False, 0
        try:
            outcome = await self.connected.connections[tool.server_id].call(tool.name, arguments)
        except ToolTimeoutError as exc:
            return "timeout", exc.message, False, int(self.settings.call_timeout_s * 1000)
        except McpServerError as exc:
            return "error", exc.message, False, 0
        return ("error" if outcome.is_error else "ok"), outcome.text, outcome.truncated, outcome.duration_ms
