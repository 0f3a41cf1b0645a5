"""The one inference path: every route has a backend that answers `complete(endpoint, body)` and
`stream(endpoint, body)`, chosen when the catalog is built.

- `PassthroughBackend`: OpenAI-compatible upstreams (vLLM, TGI, TEI, any `openai/` server), over serve's own pooled
  HTTP client, the body forwarded as it is (it has passed the allow-list) and the answer relayed byte for byte.
- `LiteLLMBackend`: every other provider (Bedrock, SageMaker, ...) through a LiteLLM Router, its answers made
  OpenAI-exact.
Both report the token usage of what they answered (`Answer.usage`, `Stream.usage`) for metering: streams ask the
upstream for `include_usage` and strip that final chunk again when the client did not ask for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, AsyncIterator, Protocol

import orjson

from core.openai_requests import CHAT, EMBEDDINGS
from services.serve.openai_errors import OpenAIError, bad_request, upstream_failure
from services.serve.routing import Passthrough
from services.serve.streaming import DONE, sse
from services.serve.upstream import UpstreamResponse, Upstreams


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def of(cls, data: Any) -> Usage | None:
        if not isinstance(data, dict):
            return None
        prompt, completion = data.get("prompt_tokens"), data.get("completion_tokens")
        if not isinstance(prompt, int) and not isinstance(completion, int):
            return None
        return cls(prompt if isinstance(prompt, int) else 0, completion if isinstance(completion, int) else 0)


@dataclass
class Answer:
    """A whole (non-streamed) answer: OpenAI's JSON object as bytes, and the usage it reported."""

    body: bytes
    usage: Usage | None


class Stream(Protocol):
    """An open stream: SSE bytes ready for the client (ending with `data: [DONE]`), then `usage` once it ended."""

    usage: Usage | None

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    def close(self) -> None: ...


class Backend(Protocol):
    async def complete(self, endpoint: str, body: dict[str, Any]) -> Answer: ...

    async def stream(self, endpoint: str, body: dict[str, Any]) -> Stream | Answer:
        """A stream, or a whole answer when the upstream chose not to stream; errors before the first byte raise."""
        ...


def _client_wants_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


# Pass-through -------------------------------------------------------------------------------------------------------
_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')


class PassthroughBackend:
    def __init__(self, direct: Passthrough, upstreams: Upstreams, *, timeout_s: float, meter_streams: bool = True) -> None:
        self.direct = direct
        self.upstreams = upstreams
        self.timeout_s = timeout_s
        self.meter_streams = meter_streams

    async def _send(self, endpoint: str, body: dict[str, Any]) -> UpstreamResponse:
        body["model"] = self.direct.upstream_model
        data = orjson.dumps(body)
        return await self.upstreams.pool(self.direct.origin).request(self.direct.heads[endpoint] % len(data), data,
                                                                     self.timeout_s)

    async def complete(self, endpoint: str, body: dict[str, Any]) -> Answer:
        response = await self._send(endpoint, body)
        try:
            return await _whole(response)
        finally:
            response.close()

    async def stream(self, endpoint: str, body: dict[str, Any]) -> Stream | Answer:
        strip_usage = not _client_wants_usage(body)
        if self.meter_streams and endpoint != EMBEDDINGS:
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        response = await self._send(endpoint, body)
        if response.status == 200 and (response.header(b"content-type") or b"").startswith(b"text/event-stream"):
            return PassthroughStream(response, strip_usage=strip_usage)
        try:
            return await _whole(response)
        finally:
            response.close()


async def _whole(response: UpstreamResponse) -> Answer:
    body = await response.read()
    if response.status != 200:
        raise upstream_failure(response.status, response.headers, body)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise OpenAIError(502, "the upstream answered with a body that is not a JSON object", "server_error",
                          "upstream_invalid_response")
    return Answer(body, Usage.of(parsed.get("usage")))


_MAX_PENDING = 1 << 20  # an "event" this long without its end is passed on as it is rather than held


def _event_end(data: bytes) -> int:
    """Where the last complete SSE event of `data` ends (0: none is complete)."""
    lf, crlf = data.rfind(b"\n\n"), data.rfind(b"\r\n\r\n")
    return max(lf + 2 if lf >= 0 else 0, crlf + 4 if crlf >= 0 else 0)


class PassthroughStream:
    """The upstream's SSE bytes as they come, but for the usage chunk: read for metering, and dropped when the
    client did not ask for it. Events are forwarded whole (a partial event waits for its end)."""

    def __init__(self, response: UpstreamResponse, *, strip_usage: bool) -> None:
        self.response = response
        self.strip_usage = strip_usage
        self.usage: Usage | None = None

    def close(self) -> None:
        self.response.close()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pending = b""
        try:
            async for chunk in self.response.iter_chunks():
                if pending:
                    chunk, pending = pending + chunk, b""
                if not chunk.endswith((b"\n\n", b"\r\n\r\n")) and len(chunk) < _MAX_PENDING:
                    cut = _event_end(chunk)
                    chunk, pending = chunk[:cut], chunk[cut:]
                if chunk and _USAGE_OBJECT.search(chunk):
                    chunk = self._take_usage(chunk)
                if chunk:
                    yield chunk
            if pending:
                yield pending
        finally:
            self.response.close()

    def _take_usage(self, events: bytes) -> bytes:
        kept = []
        for event in events.split(b"\n\n"):
            if event.startswith(b"data: {") and _USAGE_OBJECT.search(event):
                try:
                    data = orjson.loads(event[6:])
                except orjson.JSONDecodeError:
                    data = None
                if isinstance(data, dict):
                    self.usage = Usage.of(data.get("usage")) or self.usage
                    if self.strip_usage:
                        if not data.get("choices"):
                            continue  # the usage chunk the client did not ask for
                        data["usage"] = None
                        event = b"data: " + orjson.dumps(data)
            kept.append(event)
        return b"\n\n".join(kept)


# LiteLLM ------------------------------------------------------------------------------------------------------------
class LiteLLMBackend:
    """One model of the shared LiteLLM Router (services/serve/litellm_path.py)."""

    def __init__(self, models: Any, name: str) -> None:
        self.models = models  # LiteLLMModels; imported only when a route needs LiteLLM
        self.name = name

    async def complete(self, endpoint: str, body: dict[str, Any]) -> Answer:
        result = await self.models.call(endpoint, body)
        return Answer(orjson.dumps(result), Usage.of(result.get("usage")))

    async def stream(self, endpoint: str, body: dict[str, Any]) -> Stream | Answer:
        if endpoint != CHAT:
            raise bad_request("streaming completions are only available for OpenAI-compatible upstreams", "stream")
        stream = LiteLLMStream(self.models.stream_chat(body, include_usage=_client_wants_usage(body)))
        await stream.start()
        return stream


class LiteLLMStream:
    def __init__(self, chunks: AsyncIterator[tuple[dict[str, Any], Usage | None]]) -> None:
        self._chunks = chunks
        self._first: bytes | None = None
        self.usage: Usage | None = None

    async def start(self) -> None:
        """Wait for the first chunk, so that an error before it is an HTTP error, not an event."""
        try:
            self._first = self._encode(await self._chunks.__anext__())
        except StopAsyncIteration:
            self._first = b""

    def _encode(self, item: tuple[dict[str, Any] | None, Usage | None]) -> bytes:
        chunk, usage = item
        if usage is not None:
            self.usage = usage
        return sse(chunk) if chunk is not None else b""

    def close(self) -> None:
        pass  # the relay cancels the task iterating this stream, which cancels LiteLLM's call

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._first:
            yield self._first
        async for item in self._chunks:
            data = self._encode(item)
            if data:
                yield data
        yield DONE
