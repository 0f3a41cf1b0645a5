"""The tool loop (services/mcp/tool_loop.py) with a scripted model and in-memory tools: rounds, events, usage,
approvals, errors, and what it sends to the model."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import InvalidInputError
from services.mcp.connection import McpServerError, ToolOutcome, ToolTimeoutError
from services.mcp.settings import McpSettings
from services.mcp.tool_loop import Connected, ToolLoop
from services.mcp.tools import ToolCatalog

SETTINGS = McpSettings(max_rounds=2, approval_timeout_s=1)
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def chunk(delta=None, finish=None, usage=None):
    c = {"choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}] if delta is not None or finish
         else []}
    if usage:
        c["usage"] = usage
    return c


class ScriptedModel:
    """Asks for `srv__echo` until a tool message is there (or always, with `loop`), then answers."""

    def __init__(self, loop: bool = False, arguments: str = '{"text": "hi"}') -> None:
        self.requests: list[dict] = []
        self.loop, self.arguments = loop, arguments

    async def __call__(self, request):
        self.requests.append(request)
        answered = any(m.get("role") == "tool" for m in request["messages"])
        if "tools" in request and (self.loop or not answered):
            yield chunk({"content": "Checking. "})
            yield chunk({"tool_calls": [{"index": 0, "id": f"c{len(self.requests)}",
                                         "function": {"name": "srv__echo", "arguments": self.arguments}}]})
            yield chunk(finish="tool_calls")
        else:
            yield chunk({"content": "Done: " + str(request["messages"][-1].get("content"))})
            yield chunk(finish="stop")
        yield chunk(usage=USAGE)


class Tools:
    def __init__(self, outcome=None, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.outcome = outcome or ToolOutcome("echo: hi", False, False, 7)
        self.error = error

    async def call(self, name, arguments):
        self.calls.append((name, arguments))
        if self.error:
            raise self.error
        return self.outcome


class Approver:
    def __init__(self, decision: str) -> None:
        self.decision = decision

    async def create(self, call):
        return "a1", "2030-01-01T00:00:00Z"

    async def wait(self, approval_id):
        return self.decision


def run(model, tools, approval="auto", decision="approved", body=None):
    catalog = ToolCatalog()
    catalog.add("s1", "srv", "echo", "Echo", {"type": "object", "properties": {"text": {"type": "string"}}})
    events: list[dict] = []

    async def emit(event):
        events.append(event)

    loop = ToolLoop(model_stream=model, connected=Connected({"s1": tools}, catalog), approvals={"s1": approval},
                    approver=Approver(decision), settings=SETTINGS, emit=emit)
    body = body or {"model": "m", "messages": [{"role": "user", "content": "go"}],
                    "stream_options": {"include_usage": True}}
    result = asyncio.run(loop.run(body))
    return result, events


def tool_events(events):
    return [e["event"] for e in events if e["kind"] == "tool"]


def test_a_call_then_an_answer_with_text_of_both_rounds_and_usage_summed():
    model, tools = ScriptedModel(), Tools()
    result, events = run(model, tools)
    assert tools.calls == [("echo", {"text": "hi"})]
    assert result.text == "Checking. \n\nDone: echo: hi" and result.finish_reason == "stop" and result.rounds == 2
    assert result.usage == {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10}
    assert [e["type"] for e in tool_events(events)] == ["tool_call", "tool_result"]
    assert events[0] == {"kind": "started"} and events[-1]["chunk"]["usage"]["total_tokens"] == 10


def test_the_second_round_carries_the_assistant_calls_and_the_tool_result():
    model = ScriptedModel()
    run(model, Tools())
    messages = model.requests[1]["messages"]
    assert messages[1]["tool_calls"][0]["function"] == {"name": "srv__echo", "arguments": '{"text": "hi"}'}
    assert messages[2] == {"role": "tool", "tool_call_id": "c1", "content": "echo: hi"}
    assert all(r["stream"] and r["stream_options"] == {"include_usage": True} for r in model.requests)


def test_after_the_round_limit_the_model_answers_without_tools():
    model = ScriptedModel(loop=True)
    result, events = run(model, Tools())
    assert ["tools" in r for r in model.requests] == [True, True, False]
    assert tool_events(events)[-1]["type"] == "limit" and result.finish_reason == "stop"


def test_failures_and_timeouts_become_tool_results_the_model_reads():
    for error, status in ((McpServerError("MCP server 'srv' is unreachable"), "error"),
                          (ToolTimeoutError("the tool echo did not answer within 1 s"), "timeout")):
        model = ScriptedModel()
        result, events = run(model, Tools(error=error))
        assert tool_events(events)[-1]["status"] == status
        assert model.requests[1]["messages"][2]["content"] == error.message


def test_arguments_that_are_not_an_object_are_not_sent_to_the_tool():
    tools = Tools()
    result, events = run(ScriptedModel(arguments="[1, 2]"), tools)
    assert tools.calls == [] and tool_events(events)[-1]["result"] == "the arguments are not a JSON object"


def test_a_rejected_or_expired_approval_means_no_call():
    for decision in ("rejected", "expired"):
        tools = Tools()
        _, events = run(ScriptedModel(), tools, approval="ask", decision=decision)
        assert tools.calls == []
        assert [e["type"] for e in tool_events(events)] == ["tool_call", "approval_required", "approval", "tool_result"]
        assert tool_events(events)[-1]["status"] == decision


def test_an_approved_call_runs():
    tools = Tools()
    run(ScriptedModel(), tools, approval="ask", decision="approved")
    assert tools.calls == [("echo", {"text": "hi"})]


def test_a_request_breaking_the_allow_list_never_reaches_the_model():
    model = ScriptedModel()
    with pytest.raises(InvalidInputError) as refused:
        run(model, Tools(), body={"model": "m", "messages": [{"role": "user", "content": "go"}], "api_base": "x"})
    assert refused.value.param == "api_base" and model.requests == []
