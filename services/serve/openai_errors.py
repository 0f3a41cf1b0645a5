"""Every error serve answers, as OpenAI's error object `{"error": {"message", "type", "param", "code"}}`.

The one error mapper: domain errors, upstream answers and LiteLLM's exceptions become (status, body) here, for the
one error path of the app.
"""

from __future__ import annotations

import logging

import orjson

from core.errors import (
    AuthenticationError,
    LisaError,
    NotFoundError,
    PermissionDeniedError,
    UpstreamError,
    UpstreamTimeoutError,
)

log = logging.getLogger("lisa.serve")


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


_PASSED_HEADERS = (b"retry-after", b"x-request-id")


def upstream_failure(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> OpenAIError:
    """An upstream's non-200 answer, phrased for the client: 429/5xx and client errors keep their status (and
    retry-after); the upstream refusing serve's own credentials is a 502, not the caller's 401."""
    headers = [(name, value) for name, value in headers if name in _PASSED_HEADERS]
    if status in (401, 403, 407):
        return OpenAIError(502, "the upstream refused the gateway's credentials", "server_error", "upstream_auth")
    message, type_, code = f"the upstream answered {status}", "server_error" if status >= 500 else "invalid_request_error", None
    try:
        error = orjson.loads(body).get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or message)[:2000]
            type_ = str(error.get("type") or type_)
            code = error.get("code") if isinstance(error.get("code"), str) else None
        elif isinstance(error, str):
            message = error[:2000]
    except (orjson.JSONDecodeError, AttributeError):
        pass
    if status == 429:
        type_ = "rate_limit_error"
    if status < 400 or status > 599:
        return OpenAIError(502, f"the upstream answered an unexpected status {status}", "server_error", "upstream_error")
    return OpenAIError(status, message, type_, code, headers=headers)


def from_litellm(exc: Exception) -> OpenAIError:
    """A LiteLLM exception (litellm is loaded by then: only its own calls raise these) as OpenAI's error."""
    import litellm

    name = type(exc).__name__
    message = getattr(exc, "message", None) or str(exc) or name
    message = str(message)[:500]
    if isinstance(exc, litellm.Timeout):
        return OpenAIError(504, "the upstream did not answer in time", "server_error", "upstream_timeout")
    if isinstance(exc, litellm.APIConnectionError):
        return OpenAIError(502, "the upstream refused or is unreachable", "server_error", "upstream_error")
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        log.error("LiteLLM raised %s", name)
        return OpenAIError(502, "the upstream call failed", "server_error", "upstream_error")
    if status in (401, 403):
        return OpenAIError(502, "the upstream refused the gateway's credentials", "server_error", "upstream_auth")
    headers = []
    response = getattr(exc, "response", None)
    retry_after = getattr(getattr(response, "headers", None), "get", lambda _k: None)("retry-after")
    if retry_after:
        headers.append((b"retry-after", str(retry_after).encode()))
    if status == 429:
        return OpenAIError(429, message, "rate_limit_error", "rate_limit_exceeded", headers=headers)
    if status == 500:  # LiteLLM raises it for its own failures too: not the caller's fault, nor ours to hide
        return OpenAIError(502, message, "server_error", "upstream_error", headers=headers)
    if status > 500:
        return OpenAIError(status, message, "server_error", "upstream_error", headers=headers)
    return OpenAIError(status, message, "invalid_request_error", None)
