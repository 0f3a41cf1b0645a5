"""What the routes share within one app: stores, settings and clients built on first use and kept on `app.state`."""

from __future__ import annotations

from typing import Callable, TypeVar

from starlette.requests import Request

T = TypeVar("T")


def shared(request: Request, name: str, build: Callable[[], T]) -> T:
    """The app's one `name`, built by `build()` the first time a request needs it."""
    value = getattr(request.app.state, name, None)
    if value is None:
        value = build()
        setattr(request.app.state, name, value)
    return value
