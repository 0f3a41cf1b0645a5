"""The OpenAI request bodies the platform accepts: per endpoint, the documented fields and their ranges (pure).

Only fields on these allow-lists go on, to a pass-through upstream or into LiteLLM's kwargs, and anything else is
refused with a 400 naming it. The reason is LiteLLM: its call kwargs override a deployment's params, so a body
carrying `api_base`, `base_url` or `aws_bedrock_runtime_endpoint` would send the platform's signed request to a host
of the caller's choice. `metadata` is left out for the same reason (LiteLLM reads it for its own routing and
callbacks). Ranges are OpenAI's, checked here whatever the upstream would do with them. The simple checks (Number,
Integer, String, OneOf, ArrayOf) say their bounds, so tests derive valid and invalid values from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from core.errors import InvalidInputError

Check = Callable[[Any, str], None]

CHAT = "chat/completions"
COMPLETIONS = "completions"
EMBEDDINGS = "embeddings"
ENDPOINTS = (CHAT, COMPLETIONS, EMBEDDINGS)

MAX_STOP_SEQUENCES = 4
MAX_TOOLS = 128
MAX_EMBEDDING_INPUTS = 2048
MAX_USER_CHARS = 512
# Keys of one chat message that go on; the rest of a message is refused like an unknown field.
MESSAGE_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id", "function_call", "refusal",
                          "audio", "reasoning_content"})
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def _fail(name: str, message: str, code: str = "invalid_value") -> InvalidInputError:
    return InvalidInputError(f"Invalid value for '{name}': {message}", param=name, code=code)


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Number:
    """A finite number in [low, high] (None: unbounded on that side)."""

    low: float | None = None
    high: float | None = None

    def __call__(self, value: Any, name: str) -> None:
        if not _is_number(value):
            raise _fail(name, f"expected a number, got {_type_name(value)}.", "invalid_type")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise _fail(name, f"expected a number between {_bound(self.low)} and {_bound(self.high)}, got {value}.")


@dataclass(frozen=True)
class Integer:
    """An integer (not a boolean) in [low, high] (None: unbounded on that side)."""

    low: int | None = None
    high: int | None = None

    def __call__(self, value: Any, name: str) -> None:
        if not _is_int(value):
            raise _fail(name, f"expected an integer, got {_type_name(value)}.", "invalid_type")
        if self.low is not None and value < self.low:
            raise _fail(name, f"expected an integer of at least {self.low}, got {value}.", "integer_below_min_value")
        if self.high is not None and value > self.high:
            raise _fail(name, f"expected an integer of at most {self.high}, got {value}.", "integer_above_max_value")


def _bound(value: float | None) -> str:
    return "any" if value is None else f"{value:g}"


def boolean(value: Any, name: str) -> None:
    if not isinstance(value, bool):
        raise _fail(name, f"expected a boolean, got {_type_name(value)}.", "invalid_type")


@dataclass(frozen=True)
class String:
    max_chars: int = MAX_USER_CHARS

    def __call__(self, value: Any, name: str) -> None:
        if not isinstance(value, str):
            raise _fail(name, f"expected a string, got {_type_name(value)}.", "invalid_type")
        if len(value) > self.max_chars:
            raise _fail(name, f"expected at most {self.max_chars} characters, got {len(value)}.",
                        "string_above_max_length")


@dataclass(frozen=True)
class OneOf:
    choices: tuple[str, ...]

    def __call__(self, value: Any, name: str) -> None:
        if not isinstance(value, str) or value not in self.choices:
            raise _fail(name, f"expected one of {', '.join(repr(c) for c in self.choices)}, "
                              f"got {str(value)[:64]!r}.")


@dataclass(frozen=True)
class ArrayOf:
    item: Check

    def __call__(self, value: Any, name: str) -> None:
        for item in _array(value, name):
            self.item(item, name)


def obj(value: Any, name: str) -> None:
    if not isinstance(value, dict):
        raise _fail(name, f"expected an object, got {_type_name(value)}.", "invalid_type")


def _stop(value: Any, name: str) -> None:
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise _fail(name, "expected a string or an array of strings.", "invalid_type")
    if len(value) > MAX_STOP_SEQUENCES:
        raise _fail(name, f"expected at most {MAX_STOP_SEQUENCES} stop sequences, got {len(value)}.")


def _logit_bias(value: Any, name: str) -> None:
    obj(value, name)
    for token, bias in value.items():
        if not token.lstrip("-").isdigit():
            raise _fail(f"{name}.{token[:32]}", "keys must be token ids.")
        Number(-100, 100)(bias, f"{name}.{token}")


def _stream_options(value: Any, name: str) -> None:
    obj(value, name)
    for key, item in value.items():
        if key not in ("include_usage", "include_obfuscation"):
            raise _unknown(f"{name}.{key}")
        boolean(item, f"{name}.{key}")


def _function(value: Any, name: str) -> None:
    obj(value, name)
    if not isinstance(value.get("name"), str) or not value["name"]:
        raise _fail(f"{name}.name", "a function needs a name.")
    if "parameters" in value and not isinstance(value["parameters"], dict):
        raise _fail(f"{name}.parameters", "expected a JSON Schema object.", "invalid_type")


def _tools(value: Any, name: str) -> None:
    if not isinstance(value, list):
        raise _fail(name, f"expected an array, got {_type_name(value)}.", "invalid_type")
    if len(value) > MAX_TOOLS:
        raise _fail(name, f"expected at most {MAX_TOOLS} tools, got {len(value)}.")
    for i, tool in enumerate(value):
        obj(tool, f"{name}[{i}]")
        if tool.get("type", "function") == "function":
            _function(tool.get("function"), f"{name}[{i}].function")


def _functions(value: Any, name: str) -> None:
    if not isinstance(value, list) or len(value) > MAX_TOOLS:
        raise _fail(name, f"expected an array of at most {MAX_TOOLS} functions.", "invalid_type")
    for i, function in enumerate(value):
        _function(function, f"{name}[{i}]")


def _tool_choice(value: Any, name: str) -> None:
    if isinstance(value, str):
        OneOf(("none", "auto", "required"))(value, name)
    else:
        obj(value, name)


def _function_call(value: Any, name: str) -> None:
    if isinstance(value, str):
        OneOf(("none", "auto"))(value, name)
    else:
        obj(value, name)


def _response_format(value: Any, name: str) -> None:
    obj(value, name)
    OneOf(("text", "json_object", "json_schema"))(value.get("type"), f"{name}.type")


def _messages(value: Any, name: str) -> None:
    if not isinstance(value, list) or not value:
        raise _fail(name, "expected a non-empty array of messages.", "invalid_type")
    for i, message in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(message, dict):
            raise _fail(where, f"expected an object, got {_type_name(message)}.", "invalid_type")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise _fail(f"{where}.role", f"expected one of {', '.join(sorted(ROLES))}, got {str(role)[:32]!r}.")
        for key in message:
            if key not in MESSAGE_KEYS:
                raise _unknown(f"{where}.{key}")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise _fail(f"{where}.content", "expected a string or an array of content parts.", "invalid_type")


def _prompt(value: Any, name: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not value:
        raise _fail(name, "expected a string or a non-empty array.", "invalid_type")


def _embedding_input(value: Any, name: str) -> None:
    if isinstance(value, str):
        if not value:
            raise _fail(name, "expected a non-empty string or array.")
        return
    if not isinstance(value, list) or not value:
        raise _fail(name, "expected a non-empty string or array.", "invalid_type")
    if len(value) > MAX_EMBEDDING_INPUTS:
        raise _fail(name, f"expected at most {MAX_EMBEDDING_INPUTS} inputs, got {len(value)}.")
    first = value[0]
    if isinstance(first, str):
        if not all(isinstance(v, str) and v for v in value):
            raise _fail(name, "expected every input to be a non-empty string.", "invalid_type")
    elif _is_int(first):
        if not all(_is_int(v) for v in value):
            raise _fail(name, "expected an array of token ids.", "invalid_type")
    elif not all(isinstance(v, list) and v and all(_is_int(t) for t in v) for v in value):
        raise _fail(name, "expected strings, an array of token ids, or arrays of token ids.", "invalid_type")


def _model(value: Any, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInputError("you must provide a model parameter", param=name, code="missing_model")
    String(512)(value, name)


_SAMPLING: dict[str, Check] = {
    "temperature": Number(0, 2),
    "top_p": Number(0, 1),
    "n": Integer(1, 128),
    "max_tokens": Integer(1),
    "presence_penalty": Number(-2, 2),
    "frequency_penalty": Number(-2, 2),
    "logit_bias": _logit_bias,
    "seed": Integer(),
    "stop": _stop,
    "stream": boolean,
    "stream_options": _stream_options,
    "user": String(),
    # Sampling extensions of vLLM and TGI, which clients send through `extra_body`.
    "top_k": Integer(-1),
    "min_p": Number(0, 1),
    "repetition_penalty": Number(0, 2),
}

FIELDS: dict[str, dict[str, Check]] = {
    CHAT: {
        **_SAMPLING,
        "model": _model,
        "messages": _messages,
        "max_completion_tokens": Integer(1),
        "logprobs": boolean,
        "top_logprobs": Integer(0, 20),
        "tools": _tools,
        "tool_choice": _tool_choice,
        "parallel_tool_calls": boolean,
        "functions": _functions,
        "function_call": _function_call,
        "response_format": _response_format,
        "reasoning_effort": OneOf(("none", "minimal", "low", "medium", "high")),
        "verbosity": OneOf(("low", "medium", "high")),
        "modalities": ArrayOf(OneOf(("text", "audio"))),
        "audio": obj,
        "prediction": obj,
        "service_tier": OneOf(("auto", "default", "flex", "scale", "priority")),
        "store": boolean,
        "prompt_cache_key": String(),
        "safety_identifier": String(),
    },
    COMPLETIONS: {
        **_SAMPLING,
        "model": _model,
        "prompt": _prompt,
        "best_of": Integer(1, 20),
        "echo": boolean,
        "logprobs": Integer(0, 5),
        "suffix": String(100_000),
    },
    EMBEDDINGS: {
        "model": _model,
        "input": _embedding_input,
        "dimensions": Integer(1),
        "encoding_format": OneOf(("float", "base64")),
        "user": String(),
    },
}
REQUIRED = {CHAT: ("model", "messages"), COMPLETIONS: ("model", "prompt"), EMBEDDINGS: ("model", "input")}


def _array(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(name, f"expected an array, got {_type_name(value)}.", "invalid_type")
    return value


def _unknown(name: str) -> InvalidInputError:
    return InvalidInputError(f"Unrecognized request argument supplied: {name}", param=name, code="unknown_parameter")


def check_request(endpoint: str, payload: Mapping[str, Any]) -> None:
    """Refuse (InvalidInputError, param = the field) any field not on `endpoint`'s allow-list or out of its range.

    A valid payload is used as it is (no copy), so the check costs one dict lookup per field on the hot path."""
    fields = FIELDS[endpoint]
    for name in REQUIRED[endpoint]:
        if name not in payload:
            if name == "model":
                _model(None, name)
            raise InvalidInputError(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    for name, value in payload.items():
        check = fields.get(name)
        if check is None:
            raise _unknown(name)
        if value is None and name not in REQUIRED[endpoint]:
            continue  # OpenAI clients send null for "not set"
        check(value, name)
    _cross_field(endpoint, payload)


def _cross_field(endpoint: str, payload: Mapping[str, Any]) -> None:
    if payload.get("stream_options") is not None and not payload.get("stream"):
        raise InvalidInputError("stream_options is only allowed when stream is true", param="stream_options",
                                code="invalid_value")
    if endpoint == EMBEDDINGS and "stream" in payload:
        raise _unknown("stream")
    if endpoint == CHAT and payload.get("top_logprobs") is not None and payload.get("logprobs") is not True:
        raise InvalidInputError("top_logprobs needs logprobs set to true", param="top_logprobs", code="invalid_value")


def allowed_fields(endpoint: str) -> Iterable[str]:
    return FIELDS[endpoint].keys()
