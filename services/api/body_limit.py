"""Request bodies are counted as they arrive and refused past a limit (413), with or without Content-Length.

An ASGI middleware in front of every api route: a declared Content-Length over the route's limit is refused before
anything is read; a chunked body is counted in `receive` and refused as soon as it passes the limit, so no route
(sessions, uploads, multipart parts spooled to disk) ever holds more than its limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import orjson

from core.errors import LisaError


@dataclass(frozen=True)
class BodyLimits:
    default: int = 1 << 20
    rules: tuple[tuple[str, str, int], ...] = ()  # (method, path regex, limit in bytes), first match wins

    def for_request(self, method: str, path: str) -> int:
        for rule_method, pattern, limit in self.rules:
            if rule_method in (method, "*") and re.fullmatch(pattern, path):
                return limit
        return self.default


class RequestTooLargeError(LisaError):
    status = 413
    error = "RequestTooLargeError"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than this route's limit of {limit} bytes")


def _too_large(limit: int) -> bytes:
    error = RequestTooLargeError(limit)
    return orjson.dumps({"error": error.error, "message": error.message})


class BodyLimitMiddleware:
    def __init__(self, app, limits: BodyLimits | Callable[[], BodyLimits]) -> None:
        self.app = app
        self._limits = limits

    @property
    def limits(self) -> BodyLimits:
        return self._limits() if callable(self._limits) else self._limits

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        limit = self.limits.for_request(scope["method"], scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                return await _refuse(send, limit)
        seen = 0
        started = exceeded = refused = False

        async def counted_receive():
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise RequestTooLargeError(limit)  # the app's LisaError handler answers it
            return message

        async def tracked_send(message):
            nonlocal started, refused
            if refused:
                return  # the app's own answer after the 413 we sent
            if exceeded and not started:
                # FastAPI turns an error while reading a typed body into its own 400: answer the 413 instead.
                started = refused = True
                return await _refuse(send, limit)
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except RequestTooLargeError:
            if not started:
                await _refuse(send, limit)


async def _refuse(send, limit: int) -> None:
    body = _too_large(limit)
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
