"""OpenAI's chat-completion shapes: the whole answer, and the server-sent events of a streamed one.

A stream as OpenAI sends it: one id for all chunks; the first delta carries `role` (and empty content); then content
deltas; `finish_reason` once, on a chunk with an empty delta; with `stream_options.include_usage` every chunk has
`"usage": null` and a last chunk has empty `choices` and the usage; then `data: [DONE]`.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson

from services.generation.model import Outcome

DONE = b"data: [DONE]\n\n"


def new_id() -> str:
    return "chatcmpl-" + secrets.token_urlsafe(18)


def usage(outcome: Outcome) -> dict[str, int]:
    return {"prompt_tokens": outcome.prompt_tokens, "completion_tokens": outcome.completion_tokens,
            "total_tokens": outcome.prompt_tokens + outcome.completion_tokens}


def completion(model: str, text: str, outcome: Outcome) -> dict[str, Any]:
    return {
        "id": new_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                     "logprobs": None, "finish_reason": outcome.finish_reason or "stop"}],
        "usage": usage(outcome),
    }


def sse(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


class ChunkStream:
    """The events of one streamed answer, in order: `opening()`, `text()` per piece, then `closing()`."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self._base: dict[str, Any] = {"id": new_id(), "object": "chat.completion.chunk", "created": int(time.time()),
                                      "model": model}
        self._include_usage = include_usage

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None) -> bytes:
        chunk = {**self._base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                            "finish_reason": finish_reason}]}
        if self._include_usage:
            chunk["usage"] = None
        return sse(chunk)

    def opening(self) -> bytes:
        return self._chunk({"role": "assistant", "content": ""}, None)

    def text(self, piece: str) -> bytes:
        return self._chunk({"content": piece}, None)

    def closing(self, outcome: Outcome) -> bytes:
        events = self._chunk({}, outcome.finish_reason or "stop")
        if self._include_usage:
            events += sse({**self._base, "choices": [], "usage": usage(outcome)})
        return events + DONE


def error_event(message: str, etype: str = "server_error", code: str | None = "model_error") -> bytes:
    """An error after the stream started: openai-python raises APIError on a data event with an `error` object."""
    return sse({"error": {"message": message, "type": etype, "param": None, "code": code}})
