"""The request checks serve makes itself, so a malformed body is a 400 here rather than whatever an upstream says."""

from __future__ import annotations

from typing import Any

import orjson

from services.serve.openai_errors import bad_request


def parse_request(endpoint: str, body: bytes) -> dict[str, Any]:
    """The JSON body of an inference request, checked just enough to route it; OpenAIError (400) otherwise."""
    if not body:
        raise bad_request("the request body is empty; send a JSON object")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise bad_request("the request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise bad_request("the request body must be a JSON object")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("you must provide a model parameter", "model", "missing_model")
    _check_stream(payload)
    _CHECKS[endpoint](payload)
    return payload


def _check_stream(payload: dict[str, Any]) -> None:
    stream = payload.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise bad_request("stream must be a boolean", "stream")
    options = payload.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise bad_request("stream_options must be an object", "stream_options")
        if not stream:
            raise bad_request("stream_options is only allowed when stream is true", "stream_options")
        if "include_usage" in options and not isinstance(options["include_usage"], bool):
            raise bad_request("stream_options.include_usage must be a boolean", "stream_options.include_usage")


def _check_chat(payload: dict[str, Any]) -> None:
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("messages must be a non-empty array", "messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise bad_request(f"messages[{i}] must be an object with a role", f"messages[{i}]")


def _check_completion(payload: dict[str, Any]) -> None:
    prompt = payload.get("prompt")
    if not isinstance(prompt, (str, list)) or (isinstance(prompt, list) and not prompt):
        raise bad_request("prompt must be a string or a non-empty array", "prompt")


def _check_embedding(payload: dict[str, Any]) -> None:
    value = payload.get("input")
    if not isinstance(value, (str, list)) or (isinstance(value, list) and not value) or value == "":
        raise bad_request("input must be a non-empty string or array", "input")
    if payload.get("stream"):
        raise bad_request("embeddings cannot stream", "stream")


_CHECKS = {"chat/completions": _check_chat, "completions": _check_completion, "embeddings": _check_embedding}
