"""FastAPI dependencies: the app sets `app.state.authenticator` (services.identity.authenticator.Authenticator)."""

from __future__ import annotations

from starlette.requests import Request

from core.errors import PermissionDeniedError
from services.identity.principal import Principal


async def require_user(request: Request) -> Principal:
    principal = await request.app.state.authenticator.authenticate(request.headers)
    request.state.principal = principal
    return principal


async def require_admin(request: Request) -> Principal:
    principal = await require_user(request)
    if not principal.is_admin:
        raise PermissionDeniedError("this operation needs an admin")
    return principal
