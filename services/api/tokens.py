"""Token admin routes of the api app: issue, list and revoke API tokens (the plain token is returned once).

The app that includes `router` sets `app.state.authenticator` (services.identity.authenticator.Authenticator) and maps
core.errors to its error body.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from core.schema import CamelModel
from services.identity.dependencies import require_admin, require_user
from services.identity.principal import Principal
from services.identity.tokens import TokenInfo, TokenStore

router = APIRouter(tags=["tokens"])


class IssueTokenRequest(CamelModel):
    name: str = Field(default="", max_length=256)
    owner: str | None = Field(default=None, min_length=1, max_length=256, description="defaults to the caller")
    username: str | None = Field(default=None, min_length=1, max_length=256)
    groups: list[str] = Field(default_factory=list, max_length=100)
    is_admin: bool = False
    token_expiration: int | None = Field(default=None, description="unix seconds; omitted: never expires")


class IssuedToken(TokenInfo):
    token: str = Field(description="the API token; shown only in this response")


class TokenList(CamelModel):
    tokens: list[TokenInfo]


def _store(request: Request) -> TokenStore:
    return request.app.state.authenticator.tokens


@router.post("/tokens", status_code=201, response_model=IssuedToken)
async def issue_token(body: IssueTokenRequest, request: Request, admin: Principal = Depends(require_admin)) -> IssuedToken:
    owner = body.owner or admin.id
    username = body.username or (admin.username if body.owner is None else owner)
    token, info = await asyncio.to_thread(
        _store(request).issue, owner=owner, username=username, groups=body.groups, is_admin=body.is_admin,
        name=body.name, token_expiration=body.token_expiration, issued_by=admin,
    )
    return IssuedToken(token=token, **info.model_dump(by_alias=False))


@router.get("/tokens", response_model=TokenList)
async def list_tokens(request: Request, principal: Principal = Depends(require_user)) -> TokenList:
    """Admins see every token; anyone else sees the tokens they own."""
    owner = None if principal.is_admin else principal.id
    return TokenList(tokens=await asyncio.to_thread(_store(request).list, owner))


@router.delete("/tokens/{token_id}", response_model=TokenInfo)
async def revoke_token(token_id: str, request: Request, admin: Principal = Depends(require_admin)) -> TokenInfo:
    return await asyncio.to_thread(_store(request).revoke, token_id)
