"""Every error serve answers, as OpenAI's error object `{"error": {"message", "type", "param", "code"}}`.

One mapping from exception to (status, body), used by the one error path of the app.
"""

from __future__ import annotations

import orjson

from core.errors import (
    AuthenticationError,
    LisaError,
    NotFoundError,
    PermissionDeniedError,
    UpstreamError,
    UpstreamTimeoutError,
)


class OpenAIError(Exception):
    """An error already phrased for OpenAI clients (status, type, code, param)."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.headers = headers or []


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


def as_openai_error(exc: BaseException) -> OpenAIError:
    if isinstance(exc, OpenAIError):
        return exc
    if isinstance(exc, AuthenticationError):
        return OpenAIError(401, exc.message, "invalid_request_error", "invalid_api_key")
    if isinstance(exc, PermissionDeniedError):
        return OpenAIError(403, exc.message, "permission_error", "permission_denied")
    if isinstance(exc, UpstreamTimeoutError):
        return OpenAIError(504, exc.message, "server_error", "upstream_timeout")
    if isinstance(exc, UpstreamError):
        return OpenAIError(502, exc.message, "server_error", "upstream_error")
    if isinstance(exc, NotFoundError):
        return OpenAIError(404, exc.message, "invalid_request_error", "not_found", exc.param)
    if isinstance(exc, LisaError) and exc.status < 500:
        return OpenAIError(400, exc.message, "invalid_request_error", exc.code, exc.param)
    return OpenAIError(500, "the gateway failed to handle the request", "server_error", "internal_error")


def model_not_found(model: str) -> OpenAIError:
    return OpenAIError(404, f"The model `{model}` does not exist or you do not have access to it.",
                       "invalid_request_error", "model_not_found", "model")


def bad_request(message: str, param: str | None = None, code: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, "invalid_request_error", code, param)
