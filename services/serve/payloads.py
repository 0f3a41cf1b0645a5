"""The request checks serve makes itself, so a malformed body is a 400 here rather than whatever an upstream says."""

from __future__ import annotations

from typing import Any

import orjson

from core.errors import InvalidInputError
from core.openai_requests import check_request
from services.serve.openai_errors import bad_request


def parse_request(endpoint: str, body: bytes) -> dict[str, Any]:
    """The JSON body of an inference request, with only allow-listed fields in OpenAI's ranges (core.openai_requests);
    OpenAIError (400) otherwise. The body is used as it is: nothing is copied on the hot path."""
    if not body:
        raise bad_request("the request body is empty; send a JSON object")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise bad_request("the request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise bad_request("the request body must be a JSON object")
    try:
        check_request(endpoint, payload)
    except InvalidInputError as exc:
        raise bad_request(exc.message, exc.param, exc.code) from None
    return payload
