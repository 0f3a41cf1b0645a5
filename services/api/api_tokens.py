"""API tokens, LISA v6's `/api-tokens` contract. The plain token is in the create answer only; the table keeps its hash.

    POST   /api-tokens               admins and apiGroup members: their own token, groups copied from the caller
    POST   /api-tokens/{username}    admins: a token for anyone, with the groups given (a system token if asked)
    GET    /api-tokens               admins: every token; others: their own
    GET    /api-tokens/{tokenUUID}   its owner or an admin (404 for anyone else: nothing is revealed)
    DELETE /api-tokens/{tokenUUID}   its owner or an admin
A revoked token stops working on every serve worker within the authenticator's token cache time (5 s).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Path, Request
from pydantic import Field

from core.errors import NotFoundError, PermissionDeniedError
from core.schema import CamelModel
from services.api.audit_trail import audit
from services.api.contract import errors
from services.identity.dependencies import require_admin, require_user
from services.identity.principal import Principal
from services.identity.tokens import TokenInfo, TokenStore

router = APIRouter(tags=["api-tokens"])

Name = Field(min_length=1, max_length=256)
USERNAME = Path(min_length=1, max_length=256, pattern=r"^[^/\s][^/]*$")


class CreateTokenRequest(CamelModel):
    name: str = Name
    token_expiration: int | None = Field(default=None, description="unix seconds; default now + 90 days")


class CreateUserTokenRequest(CreateTokenRequest):
    groups: list[str] = Field(default_factory=list, max_length=100)
    is_system_token: bool = Field(default=False, strict=True)  # JSON's boolean: a system token is never implied


class CreateTokenResponse(TokenInfo):
    token: str = Field(description="the API token: shown only in this answer")


class TokenList(CamelModel):
    tokens: list[TokenInfo]


class DeletedToken(CamelModel):
    message: str
    token_uuid: str = Field(alias="tokenUUID")


def _store(request: Request) -> TokenStore:
    return request.app.state.authenticator.tokens


def _created(token: str, info: TokenInfo) -> CreateTokenResponse:
    return CreateTokenResponse(token=token, **info.model_dump(by_alias=False, exclude={"is_expired"}))


@router.post("/api-tokens", response_model=CreateTokenResponse, responses=errors())
async def create_own_token(body: CreateTokenRequest, request: Request,
                           principal: Principal = Depends(require_user)) -> CreateTokenResponse:
    if not principal.may_issue_tokens:
        raise PermissionDeniedError("only admins and members of the API group may create API tokens")
    token, info = await asyncio.to_thread(
        _store(request).issue, user_id=principal.id, username=principal.username, name=body.name,
        groups=principal.groups, token_expiration=body.token_expiration, created_by=principal.username)
    audit(request, principal, "token.create", info.token_uuid, name=info.name, username=info.username)
    return _created(token, info)


@router.post("/api-tokens/{username}", response_model=CreateTokenResponse, responses=errors())
async def create_token_for_user(body: CreateUserTokenRequest, request: Request, username: str = USERNAME,
                                admin: Principal = Depends(require_admin)) -> CreateTokenResponse:
    token, info = await asyncio.to_thread(
        _store(request).issue, user_id=username, username=username, name=body.name, groups=body.groups,
        token_expiration=body.token_expiration, is_system_token=body.is_system_token, created_by=admin.username)
    audit(request, admin, "token.create", info.token_uuid, name=info.name, username=username, groups=info.groups,
          isSystemToken=info.is_system_token)
    return _created(token, info)


@router.get("/api-tokens", response_model=TokenList, responses=errors())
async def list_tokens(request: Request, principal: Principal = Depends(require_user)) -> TokenList:
    user_id = None if principal.is_admin else principal.id
    return TokenList(tokens=await asyncio.to_thread(_store(request).list, user_id))


async def _visible(request: Request, principal: Principal, token_uuid: str) -> TokenInfo:
    info, _ = await asyncio.to_thread(_store(request).get, token_uuid)
    if not principal.is_admin and info.user_id != principal.id:
        raise NotFoundError(f"no API token with id {token_uuid}", param="tokenUUID")
    return info


@router.get("/api-tokens/{tokenUUID}", response_model=TokenInfo, responses=errors(404))
async def get_token(tokenUUID: str, request: Request, principal: Principal = Depends(require_user)) -> TokenInfo:
    return await _visible(request, principal, tokenUUID)


@router.delete("/api-tokens/{tokenUUID}", response_model=DeletedToken, responses=errors(404))
async def delete_token(tokenUUID: str, request: Request, principal: Principal = Depends(require_user)) -> DeletedToken:
    await _visible(request, principal, tokenUUID)
    info = await asyncio.to_thread(_store(request).revoke, tokenUUID)
    audit(request, principal, "token.revoke", info.token_uuid, name=info.name, username=info.username)
    return DeletedToken(message="Token deleted successfully", token_uuid=info.token_uuid)
