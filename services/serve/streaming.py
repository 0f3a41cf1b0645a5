"""Server-sent events exactly as OpenAI sends them, for streams that serve assembles itself (the LiteLLM path).

OpenAI's rules for chat chunks: one id for the whole stream; the first delta carries `role`; `finish_reason` appears
once per choice, on its last chunk; with `stream_options.include_usage` a final chunk has empty `choices` and the
`usage`, and no other chunk carries usage; the stream ends with `data: [DONE]`. Pass-through streams are forwarded
byte for byte (the upstream already speaks OpenAI); LiteLLM's chunks are normalised here.
"""

from __future__ import annotations

from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"
_CHUNK_KEYS = ("id", "object", "created", "model", "system_fingerprint", "service_tier")
_DELTA_KEYS = ("role", "content", "refusal", "tool_calls", "function_call", "reasoning_content")


def sse(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


def sse_error(message: str, type_: str = "server_error", code: str | None = "upstream_error") -> bytes:
    """An error event mid-stream: openai-python raises APIError on a data event with an `error` object."""
    return sse({"error": {"message": message, "type": type_, "param": None, "code": code}})


class ChatChunkNormalizer:
    """Turns a provider's chunk dicts into OpenAI-exact `chat.completion.chunk` dicts."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self.model = model
        self.include_usage = include_usage
        self._base: dict[str, Any] | None = None
        self._role_sent: set[int] = set()
        self._finished: dict[int, str] = {}
        self._pending_finish: dict[int, str] = {}
        self._usage: dict[str, Any] | None = None

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        if self._base is None:
            self._base = {k: chunk[k] for k in _CHUNK_KEYS if chunk.get(k) is not None}
            self._base.update(object="chat.completion.chunk", model=self.model)
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        out = []
        for choice in chunk.get("choices") or []:
            index = int(choice.get("index", 0))
            delta = {k: v for k, v in (choice.get("delta") or {}).items() if k in _DELTA_KEYS and v is not None}
            if index not in self._role_sent:
                delta = {"role": "assistant", **delta}
                delta.setdefault("content", "")
                self._role_sent.add(index)
            elif "role" in delta:
                del delta["role"]
            finish = choice.get("finish_reason")
            if finish and index not in self._finished:
                # Hold it back: a provider may still send content after naming the finish reason.
                self._pending_finish[index] = finish
            if delta:
                out.append(self._chunk(index, delta, None, choice.get("logprobs")))
        return out

    @property
    def usage(self) -> dict[str, Any] | None:
        """The usage the provider reported, whether or not the client asked for its chunk."""
        return self._usage

    def finish(self) -> list[dict[str, Any]]:
        """The closing chunks: each choice's finish_reason (once), then the usage chunk if asked for."""
        if self._base is None:
            self._base = {"object": "chat.completion.chunk", "model": self.model}
        out = []
        indexes = sorted(self._role_sent | set(self._pending_finish)) or [0]
        for index in indexes:
            if index not in self._finished:
                reason = self._pending_finish.get(index, "stop")
                self._finished[index] = reason
                delta = {} if index in self._role_sent else {"role": "assistant", "content": ""}
                out.append(self._chunk(index, delta, reason, None))
        if self.include_usage:
            usage = self._usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
            usage = {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens") if k in usage}
            out.append({**self._base, "choices": [], "usage": usage})
        return out

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None, logprobs: Any) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": finish}
        if logprobs is not None:
            choice["logprobs"] = logprobs
        return {**self._base, "choices": [choice]}  # type: ignore[dict-item]
