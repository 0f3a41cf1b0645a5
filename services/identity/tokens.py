"""API tokens: issued once in plain text, stored only as their SHA-256 in the tokens table.

Item attributes: `tokenHash` (key, SHA-256 hex of the token), `tokenId` (short public id used to list and revoke),
`owner`, `username`, `groups`, `isAdmin`, `name`, `createdAt`, `createdBy` and the optional `tokenExpiration`
(unix seconds; the token is refused after it).

CLI for platform engineers (needs AWS credentials for the table; `LISA_PLATFORM`/`LISA_PLATFORM_FILE` name it):
    python -m services.identity.tokens issue --owner alice [--name laptop] [--group g]... [--admin] [--expires-in 3600]
    python -m services.identity.tokens list
    python -m services.identity.tokens revoke <tokenId>
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sys
import time
from typing import Any

from pydantic import Field

from core.dynamo import Table
from core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from core.schema import CamelModel
from services.identity.principal import Principal

TOKEN_PREFIX = "lisa-"


class TokenInfo(CamelModel):
    """What may be shown about a token: everything but the token and its hash."""

    token_id: str
    owner: str
    username: str
    groups: list[str] = Field(default_factory=list)
    is_admin: bool = False
    name: str = ""
    created_at: float
    created_by: str | None = None
    token_expiration: int | None = None

    def expired(self, now: float | None = None) -> bool:
        return self.token_expiration is not None and self.token_expiration <= (time.time() if now is None else now)

    def principal(self) -> Principal:
        return Principal(id=self.owner, username=self.username, groups=tuple(self.groups), is_admin=self.is_admin,
                         method="token")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    # No dots, so a token can never be mistaken for a JWT.
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_item(token_hash: str, info: TokenInfo) -> dict[str, Any]:
    item: dict[str, Any] = {
        "tokenHash": token_hash, "tokenId": info.token_id, "owner": info.owner, "username": info.username,
        "groups": list(info.groups), "isAdmin": info.is_admin, "name": info.name, "createdAt": info.created_at,
    }
    if info.created_by:
        item["createdBy"] = info.created_by
    if info.token_expiration is not None:
        item["tokenExpiration"] = info.token_expiration
    return item


def token_key(token: str) -> dict[str, str]:
    """The tokens table's key of a token: its hash, never the token."""
    return {"tokenHash": hash_token(token)}


def info_from_item(item: dict[str, Any]) -> TokenInfo:
    # Items written by hand (LISA's workflow) may lack everything but the key and an expiry.
    expiration = item.get("tokenExpiration")
    owner = item.get("owner") or "api-token"
    return TokenInfo(
        token_id=item.get("tokenId") or item["tokenHash"][:12],
        owner=owner,
        username=item.get("username") or owner,
        groups=[g for g in item.get("groups", []) if isinstance(g, str)],
        is_admin=item.get("isAdmin", False),
        name=item.get("name", ""),
        created_at=float(item.get("createdAt", 0)),
        created_by=item.get("createdBy"),
        token_expiration=int(expiration) if expiration is not None else None,
    )


class TokenStore:
    """Issue, look up, list and revoke API tokens in the tokens table (boto3, so call it off the event loop)."""

    def __init__(self, table_name: str) -> None:
        self.table = Table(table_name)

    def issue(
        self,
        *,
        owner: str,
        username: str | None = None,
        groups: list[str] | tuple[str, ...] = (),
        is_admin: bool = False,
        name: str = "",
        token_expiration: int | None = None,
        issued_by: Principal | None = None,
    ) -> tuple[str, TokenInfo]:
        """A new token and its info; the plain token exists only in this return value."""
        if is_admin and issued_by is not None and not issued_by.is_admin:
            raise PermissionDeniedError("only an admin may issue admin tokens")
        if not owner.strip():
            raise InvalidInputError("owner must not be empty", param="owner")
        if token_expiration is not None and token_expiration <= time.time():
            raise InvalidInputError("tokenExpiration must be in the future (unix seconds)", param="tokenExpiration")
        token = new_token()
        info = TokenInfo(
            token_id=secrets.token_hex(6),
            owner=owner,
            username=username or owner,
            groups=list(groups),
            is_admin=is_admin,
            name=name,
            created_at=time.time(),
            created_by=issued_by.id if issued_by else None,
            token_expiration=token_expiration,
        )
        self.table.put(token_item(hash_token(token), info), condition="attribute_not_exists(tokenHash)")
        return token, info

    def lookup(self, token: str) -> TokenInfo | None:
        """The token's info, or None when no such token exists (expiry is the caller's check)."""
        item = self.table.get(token_key(token))
        return info_from_item(item) if item else None

    def list(self, owner: str | None = None) -> list[TokenInfo]:
        infos = [info_from_item(item) for item in self.table.scan()]
        if owner is not None:
            infos = [i for i in infos if i.owner == owner]
        return sorted(infos, key=lambda i: (i.created_at, i.token_id))

    def revoke(self, token_id: str) -> TokenInfo:
        for item in self.table.scan():
            info = info_from_item(item)
            if info.token_id == token_id:
                self.table.delete({"tokenHash": item["tokenHash"]})
                return info
        raise NotFoundError(f"no API token with id {token_id}", param="tokenId")


# CLI -------------------------------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.identity.tokens", description="Manage LISA API tokens.")
    sub = parser.add_subparsers(dest="command", required=True)
    issue = sub.add_parser("issue", help="issue a token (printed once)")
    issue.add_argument("--owner", required=True, help="the user the token acts as")
    issue.add_argument("--username", help="display name (defaults to the owner)")
    issue.add_argument("--name", default="", help="what the token is for")
    issue.add_argument("--group", action="append", default=[], dest="groups", help="a group (repeatable)")
    issue.add_argument("--admin", action="store_true", help="an admin token")
    issue.add_argument("--expires-in", type=int, help="seconds until it expires (default: never)")
    sub.add_parser("list", help="list tokens (never their values)")
    revoke = sub.add_parser("revoke", help="delete a token by its id")
    revoke.add_argument("token_id")
    return parser


def main(argv: list[str] | None = None) -> int:
    from core.platform import load_platform

    args = _parser().parse_args(argv)
    store = TokenStore(load_platform().tables.tokens)
    try:
        if args.command == "issue":
            expiration = int(time.time()) + args.expires_in if args.expires_in else None
            token, info = store.issue(owner=args.owner, username=args.username, groups=args.groups,
                                      is_admin=args.admin, name=args.name, token_expiration=expiration)
            print(f"token (shown once, store it now): {token}")
            print(info.model_dump_json(indent=2))
        elif args.command == "list":
            for info in store.list():
                expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info.token_expiration)) if info.token_expiration else "never"
                print(f"{info.token_id}  owner={info.owner}  admin={info.is_admin}  expires={expires}  name={info.name}")
        else:
            info = store.revoke(args.token_id)
            print(f"revoked {info.token_id} (owner {info.owner})")
    except (InvalidInputError, NotFoundError, PermissionDeniedError) as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
