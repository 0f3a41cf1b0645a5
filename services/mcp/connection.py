"""One connected MCP server, through the official SDK's `Client` (Streamable HTTP, or SSE for older servers).

Every step is bounded: connecting and listing tools by `connect_timeout_s`, each tool call by `call_timeout_s`.
Every failure becomes an `McpServerError` whose message says what happened in words a user can act on (refused
address, unreachable host, HTTP status, timeout, protocol error), never a stack trace. Open and close a connection
in the same task: the SDK runs task groups under it.
"""

from __future__ import annotations

import logging
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpcore2
import httpx2
from mcp import Client, MCPError
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from core.errors import UpstreamError
from services.mcp.guarded_http import client_factory
from services.mcp.settings import McpSettings
from services.mcp.tools import capped, result_text

log = logging.getLogger("lisa.mcp")

Transport = Literal["streamable-http", "sse"]
MAX_TOOL_PAGES = 10
MAX_TOOLS_PER_SERVER = 128


class McpServerError(UpstreamError):
    error = "McpServerError"


class ToolTimeoutError(McpServerError):
    status = 504
    error = "ToolTimeoutError"


@dataclass(frozen=True)
class ServerSpec:
    id: str
    name: str
    url: str
    transport: Transport = "streamable-http"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListedTool:
    name: str
    description: str | None
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class ToolOutcome:
    text: str
    is_error: bool
    truncated: bool
    duration_ms: int


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _timed_out(exc: BaseException) -> bool:
    return any(isinstance(leaf, TimeoutError) or (isinstance(leaf, MCPError) and "timed out" in str(leaf).lower())
               for leaf in _leaves(exc))


def describe(exc: BaseException, statuses: list[int], timeout_s: float) -> str:
    """What went wrong, for the user (no stack trace, no headers)."""
    leaves = _leaves(exc)
    for leaf in leaves:
        message = str(leaf)
        if _timed_out(leaf):
            return f"did not answer within {timeout_s:g} s"
        if isinstance(leaf, (httpx2.ConnectError, httpcore2.ConnectError)) and message.startswith("refused: "):
            return message.removeprefix("refused: ")
        if isinstance(leaf, httpx2.HTTPStatusError):
            return f"answered HTTP {leaf.response.status_code}"
    if statuses:
        hint = {401: " (missing or wrong credentials: check the connection's headers)", 403: " (forbidden)",
                404: " (no MCP endpoint at this URL: check the path and the transport)"}.get(statuses[-1], "")
        return f"answered HTTP {statuses[-1]}{hint}"
    for leaf in leaves:
        if isinstance(leaf, (httpx2.ConnectError, httpcore2.ConnectError, httpx2.ConnectTimeout, OSError)):
            return f"is unreachable ({str(leaf) or type(leaf).__name__})"
        if isinstance(leaf, httpx2.TimeoutException):
            return f"did not answer within {timeout_s:g} s"
        if isinstance(leaf, MCPError):
            return f"failed: {leaf}"
    return f"failed ({type(leaves[0]).__name__})"


class McpConnection:
    def __init__(self, spec: ServerSpec, settings: McpSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.statuses: list[int] = []  # HTTP error statuses seen, for the error message
        self._client: Client | None = None

    def _error(self, exc: BaseException, timeout_s: float) -> McpServerError:
        return McpServerError(f"MCP server '{self.spec.name}' {describe(exc, self.statuses, timeout_s)}")

    async def _record(self, response: httpx2.Response) -> None:
        if response.status_code >= 400:
            self.statuses.append(response.status_code)

    def _transport(self):
        settings, spec = self.settings, self.spec
        guarded = client_factory(settings.allowed_networks, settings.connect_timeout_s)

        def factory(headers=None, timeout=None, auth=None) -> httpx2.AsyncClient:
            client = guarded(headers=headers, timeout=timeout, auth=auth)
            client.event_hooks["response"].append(self._record)
            return client

        if spec.transport == "sse":
            return sse_client(spec.url, headers=spec.headers, timeout=settings.connect_timeout_s,
                              sse_read_timeout=settings.call_timeout_s + settings.connect_timeout_s,
                              httpx_client_factory=factory)
        timeout = httpx2.Timeout(settings.connect_timeout_s, read=settings.call_timeout_s + settings.connect_timeout_s)
        return streamable_http_client(spec.url, http_client=factory(headers=spec.headers, timeout=timeout))

    async def open(self, stack: AsyncExitStack) -> None:
        """Connect (the stack closes it)."""
        # No cancel scope around entering: the SDK opens task groups that outlive this call. The handshake is bounded
        # by the client's read timeout and the HTTP client's connect timeout instead.
        client = Client(self._transport(), read_timeout_seconds=self.settings.connect_timeout_s)
        try:
            self._client = await stack.enter_async_context(client)
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message the user can read)
            raise self._error(exc, self.settings.connect_timeout_s) from None

    async def list_tools(self) -> list[ListedTool]:
        assert self._client is not None
        tools: list[ListedTool] = []
        cursor = None
        try:
            with anyio.fail_after(self.settings.connect_timeout_s):
                for _ in range(MAX_TOOL_PAGES):
                    page = await self._client.list_tools(cursor=cursor)
                    tools += [ListedTool(t.name, t.description, t.input_schema) for t in page.tools]
                    cursor = page.next_cursor
                    if not cursor or len(tools) >= MAX_TOOLS_PER_SERVER:
                        break
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, self.settings.connect_timeout_s) from None
        return tools[:MAX_TOOLS_PER_SERVER]

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        assert self._client is not None
        started = time.monotonic()
        try:
            with anyio.fail_after(self.settings.call_timeout_s + 1):  # a backstop to the SDK's own read timeout
                result = await self._client.call_tool(name, arguments,
                                                      read_timeout_seconds=self.settings.call_timeout_s)
        except Exception as exc:  # noqa: BLE001
            if not _timed_out(exc):
                raise self._error(exc, self.settings.call_timeout_s) from None
            raise ToolTimeoutError(f"the tool {name} on '{self.spec.name}' did not answer within "
                                   f"{self.settings.call_timeout_s:g} s") from None
        text, truncated = capped(result_text(result.content, result.structured_content),
                                 self.settings.result_max_chars)
        return ToolOutcome(text, bool(result.is_error), truncated, int((time.monotonic() - started) * 1000))


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    tools: list[ListedTool]
    error: str | None
    duration_ms: int


async def probe(spec: ServerSpec, settings: McpSettings) -> ProbeResult:
    """Connect and list the tools ("test connection")."""
    started = time.monotonic()
    connection = McpConnection(spec, settings)
    tools: list[ListedTool] = []
    try:
        async with AsyncExitStack() as stack:
            await connection.open(stack)
            tools = await connection.list_tools()
    except McpServerError as exc:
        return ProbeResult(False, [], exc.message, int((time.monotonic() - started) * 1000))
    except Exception as exc:  # noqa: BLE001 (closing the connection failed: the tools were listed all the same)
        log.info("closing MCP connection %s failed: %s", spec.id, type(exc).__name__)
    return ProbeResult(True, tools, None, int((time.monotonic() - started) * 1000))
