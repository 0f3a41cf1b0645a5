"""MCP tools as OpenAI `tools`, tool results as text for the model, tool calls assembled from a stream (pure).

OpenAI function names must match `^[A-Za-z0-9_-]{1,64}$` and be unique, while MCP tool names are free text and two
servers may both have a `search`: each tool is offered as `<server>__<tool>` (cleaned, cut to 64 characters, made
unique) and the catalog maps that name back to the server and the tool's own name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
MAX_NAME = 64
MAX_DESCRIPTION = 1024
EMPTY_SCHEMA = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class OfferedTool:
    openai_name: str
    server_id: str
    server_name: str
    name: str  # the tool's name on its MCP server
    description: str
    parameters: dict[str, Any]

    def as_openai(self) -> dict[str, Any]:
        return {"type": "function",
                "function": {"name": self.openai_name, "description": self.description, "parameters": self.parameters}}


def _slug(text: str, limit: int) -> str:
    return NAME_CHARS.sub("_", text).strip("_")[:limit] or "x"


def openai_name(server_name: str, tool_name: str, taken: set[str]) -> str:
    base = f"{_slug(server_name, 20)}__{_slug(tool_name, MAX_NAME - 24)}"[:MAX_NAME]
    name, n = base, 2
    while name in taken:
        suffix = f"_{n}"
        name, n = base[:MAX_NAME - len(suffix)] + suffix, n + 1
    return name


def _parameters(schema: Any) -> dict[str, Any]:
    if isinstance(schema, dict) and schema.get("type") == "object":
        return schema
    return EMPTY_SCHEMA  # OpenAI requires an object schema; a tool without one takes no arguments


@dataclass
class ToolCatalog:
    tools: list[OfferedTool] = field(default_factory=list)

    def add(self, server_id: str, server_name: str, name: str, description: str | None, schema: Any) -> OfferedTool:
        taken = {t.openai_name for t in self.tools}
        tool = OfferedTool(openai_name(server_name, name, taken), server_id, server_name, name,
                           (description or name)[:MAX_DESCRIPTION], _parameters(schema))
        self.tools.append(tool)
        return tool

    def find(self, openai_name: str) -> OfferedTool | None:
        return next((t for t in self.tools if t.openai_name == openai_name), None)

    def as_openai(self) -> list[dict[str, Any]]:
        return [t.as_openai() for t in self.tools]


def capped(text: str, max_chars: int) -> tuple[str, bool]:
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars] + f"\n…[cut: {len(text) - max_chars} more characters]", True


def result_text(content: list[Any], structured: Any = None) -> str:
    """A tool result's content blocks as text for the model: text as is, other media named, structured content as
    JSON when there is no text."""
    parts: list[str] = []
    for block in content:
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource":
            resource = block.resource
            parts.append(getattr(resource, "text", None) or f"[resource {getattr(resource, 'uri', '')}]")
        elif kind == "resource_link":
            parts.append(f"[link {block.uri}]")
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {getattr(block, 'mime_type', '')}]")
    if not parts and structured is not None:
        parts.append(orjson.dumps(structured).decode())
    return "\n".join(parts)


def parse_arguments(raw: str) -> dict[str, Any] | None:
    """A tool call's arguments (a JSON object as text, as the model wrote them); None when they are not one."""
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


@dataclass
class ToolCallDraft:
    id: str = ""
    name: str = ""
    arguments: str = ""


class ToolCallAssembler:
    """OpenAI streams tool calls in pieces (`delta.tool_calls[i]` with an index); this puts them back together."""

    def __init__(self, max_argument_chars: int = 1 << 20) -> None:
        self._calls: dict[int, ToolCallDraft] = {}
        self.max_argument_chars = max_argument_chars

    def add(self, deltas: list[dict[str, Any]]) -> None:
        for position, delta in enumerate(deltas):
            if not isinstance(delta, dict):
                continue
            index = delta.get("index", position)
            draft = self._calls.setdefault(index if isinstance(index, int) else position, ToolCallDraft())
            draft.id = delta.get("id") or draft.id
            function = delta.get("function") or {}
            draft.name += function.get("name") or ""
            if len(draft.arguments) < self.max_argument_chars:
                draft.arguments += function.get("arguments") or ""

    @property
    def calls(self) -> list[ToolCallDraft]:
        calls = [self._calls[i] for i in sorted(self._calls)]
        for n, call in enumerate(calls):
            call.id = call.id or f"call_{n}"
        return calls
