"""An OpenAI chat-completions request, validated into what the local model can do.

Fields OpenAI defines and this server honours are validated with OpenAI's ranges; fields whose meaning it cannot honour
(`n` > 1, `logprobs`, a JSON `response_format`, a forced tool call, image or audio parts) are refused with a 400 rather
than silently ignored; any other field (`user`, `metadata`, `store`...) is ignored, and nothing of the body reaches
llama.cpp except the options built here. Tools may be offered: this model never calls one, which `tool_choice: auto`
allows, so a chat that offers tools still gets an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.schema import describe_validation_errors, format_error_location
from services.generation.chat_template import ChatMessage


class RequestError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 etype: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.etype = status, message, param, code, etype


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Any = None  # a string, null or a list of parts: checked by _text (a union's errors name its branches)


class _StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class _ChatBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[_Message] = Field(min_length=1)
    stream: bool | None = None
    stream_options: _StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=None, ge=1)
    stop: Any = None
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    logprobs: bool | None = None
    top_logprobs: int | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: Any) -> Any:
        stops = [value] if isinstance(value, str) else value or []
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise ValueError("must be a string or an array of strings")
        if len(stops) > 4:
            raise ValueError("at most 4 stop sequences")
        if any(not s for s in stops):
            raise ValueError("stop sequences must not be empty")
        return value


@dataclass(frozen=True)
class ChatRequest:
    messages: list[ChatMessage]
    stream: bool
    include_usage: bool
    max_tokens: int
    temperature: float | None
    top_p: float | None
    stop: list[str]
    seed: int | None
    presence_penalty: float | None
    frequency_penalty: float | None


def _text(message: _Message, index: int) -> str:
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    if not isinstance(message.content, list):
        raise RequestError(400, "content must be a string or an array of content parts",
                           param=f"messages[{index}].content")
    texts = []
    for j, part in enumerate(message.content):
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise RequestError(400, "this model reads text only: each content part must be {\"type\": \"text\", "
                               "\"text\": ...}", param=f"messages[{index}].content[{j}]")
        texts.append(part["text"])
    return "\n".join(texts)


def _refuse_unsupported(body: _ChatBody) -> None:
    if body.n not in (None, 1):
        raise RequestError(400, "this model generates one choice per request: n must be 1", param="n")
    if body.logprobs or body.top_logprobs:
        raise RequestError(400, "this model does not return logprobs", param="logprobs")
    if body.response_format and body.response_format.get("type") != "text":
        raise RequestError(400, "this model answers in text only: response_format must be {\"type\": \"text\"}",
                           param="response_format")
    if body.tool_choice not in (None, "none", "auto"):  # a named function or "required" would force a call
        raise RequestError(400, "this model cannot call tools: tool_choice must be 'auto' or 'none'",
                           param="tool_choice")


def parse_chat_request(raw: Any, *, max_output_tokens: int) -> ChatRequest:
    """The request's validated options, or a RequestError naming the offending field. `max_tokens` defaults to and is
    capped at `max_output_tokens` (an answer longer than that ends with finish_reason `length`)."""
    if not isinstance(raw, dict):
        raise RequestError(400, "the body must be a JSON object")
    try:
        body = _ChatBody.model_validate(raw)
    except ValidationError as exc:
        param = format_error_location(tuple(exc.errors()[0]["loc"]))
        raise RequestError(400, describe_validation_errors(exc.errors())[0],
                           param=None if param == "(root)" else param) from None
    _refuse_unsupported(body)
    messages = [ChatMessage("system" if m.role == "developer" else m.role, _text(m, i))
                for i, m in enumerate(body.messages)]
    wanted = body.max_completion_tokens or body.max_tokens or max_output_tokens
    return ChatRequest(
        messages=messages, stream=bool(body.stream),
        include_usage=bool(body.stream and body.stream_options and body.stream_options.include_usage),
        max_tokens=min(wanted, max_output_tokens), temperature=body.temperature, top_p=body.top_p,
        stop=[body.stop] if isinstance(body.stop, str) else list(body.stop or []), seed=body.seed,
        presence_penalty=body.presence_penalty, frequency_penalty=body.frequency_penalty)
