"""API tokens (LISA v6's contract): issued once in plain text, stored only as their SHA-256 in the tokens table.

Item attributes: `tokenHash` (key, SHA-256 hex of the token), `tokenUUID` (the public id used to read and revoke it),
`userId` (the principal id the token acts as), `username`, `name`, `groups` (the token's caller has these groups:
admin, RAG admin and the rest follow from them), `createdDate` and `tokenExpiration` (unix seconds; refused from
then on), `createdBy`, `isSystemToken`. Indexes: `byUser` (userId) lists a user's own tokens, `byTokenUUID` finds one.
Items of the earlier shape (`tokenId`, `owner`, `createdAt`, `isAdmin`) are still read.

CLI for platform engineers (needs AWS credentials for the table; `LISA_PLATFORM`/`LISA_PLATFORM_FILE` name it):
    python -m services.identity.tokens issue --username alice [--name laptop] [--group g]... [--system] [--days 90]
    python -m services.identity.tokens list
    python -m services.identity.tokens revoke <tokenUUID>
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sys
import time
import uuid
from typing import Any

from pydantic import Field, computed_field

from core.dynamo import Table
from core.errors import InvalidInputError, NotFoundError
from core.platform import AuthOutputs
from core.schema import CamelModel
from services.identity.principal import Principal, with_roles

TOKEN_PREFIX = "lisa-"
DEFAULT_LIFETIME_S = 90 * 86400  # LISA's default: now + 90 days
USER_INDEX = "byUser"
UUID_INDEX = "byTokenUUID"


class TokenInfo(CamelModel):
    """LISA's TokenInfo: what may be shown about a token (never the token nor its hash)."""

    token_uuid: str = Field(alias="tokenUUID")
    token_expiration: int | None = Field(default=None, description="unix seconds; refused from then on")
    created_date: int
    username: str
    created_by: str | None = None
    name: str = ""
    groups: list[str] = Field(default_factory=list)
    is_system_token: bool = False
    user_id: str = Field(description="the principal id the token acts as (its sessions, usage and limits)")
    legacy_admin: bool = Field(default=False, exclude=True)  # tokens of the earlier shape said admin by a flag

    @computed_field
    @property
    def is_expired(self) -> bool:
        return self.expired()

    def expired(self, now: float | None = None) -> bool:
        return self.token_expiration is not None and self.token_expiration <= (time.time() if now is None else now)

    def principal(self, auth: AuthOutputs) -> Principal:
        return with_roles(auth, id=self.user_id, username=self.username, groups=tuple(self.groups), method="token",
                          token_id=self.token_uuid, admin=self.legacy_admin)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    # No dots, so a token can never be mistaken for a JWT.
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_item(token_hash: str, info: TokenInfo) -> dict[str, Any]:
    item: dict[str, Any] = {
        "tokenHash": token_hash, "tokenUUID": info.token_uuid, "userId": info.user_id, "username": info.username,
        "groups": list(info.groups), "name": info.name, "createdDate": info.created_date,
        "isSystemToken": info.is_system_token,
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
    # Items written by hand (LISA's workflow) or by earlier versions may lack most fields.
    expiration = item.get("tokenExpiration")
    user_id = item.get("userId") or item.get("owner") or item.get("username") or "api-token"
    return TokenInfo(
        token_uuid=item.get("tokenUUID") or item.get("tokenId") or item["tokenHash"][:12],
        user_id=user_id,
        username=item.get("username") or user_id,
        groups=[g for g in item.get("groups", []) if isinstance(g, str)],
        name=item.get("name", ""),
        created_date=int(float(item.get("createdDate", item.get("createdAt", 0)))),
        created_by=item.get("createdBy"),
        token_expiration=int(expiration) if expiration is not None else None,
        is_system_token=bool(item.get("isSystemToken", False)),
        legacy_admin=bool(item.get("isAdmin", False)),
    )


def expiration_from(requested: int | None, now: float | None = None) -> int:
    """LISA's rule: default now + 90 days; a given expiry must lie in the future."""
    now = time.time() if now is None else now
    if requested is None:
        return int(now) + DEFAULT_LIFETIME_S
    if requested <= now:
        raise InvalidInputError("tokenExpiration must be in the future (unix seconds)", param="tokenExpiration")
    return requested


class TokenStore:
    """Issue, look up, list and revoke API tokens in the tokens table (boto3, so call it off the event loop)."""

    def __init__(self, table_name: str) -> None:
        self.table = Table(table_name)

    def issue(self, *, user_id: str, username: str, name: str, groups: list[str] | tuple[str, ...] = (),
              token_expiration: int | None = None, is_system_token: bool = False,
              created_by: str | None = None, never_expires: bool = False) -> tuple[str, TokenInfo]:
        """A new token and its info; the plain token exists only in this return value. `never_expires` is for the
        platform's own tokens (the CLI, the local stack); the api always sets an expiry."""
        if not user_id.strip() or not username.strip():
            raise InvalidInputError("the token's user must not be empty", param="username")
        token = new_token()
        info = TokenInfo(
            token_uuid=str(uuid.uuid4()), user_id=user_id, username=username, name=name,
            groups=list(dict.fromkeys(groups)), created_date=int(time.time()), created_by=created_by,
            token_expiration=None if never_expires else expiration_from(token_expiration),
            is_system_token=is_system_token,
        )
        self.table.put(token_item(hash_token(token), info), condition="attribute_not_exists(tokenHash)")
        return token, info

    def lookup(self, token: str) -> TokenInfo | None:
        """The token's info, or None when no such token exists (expiry is the caller's check)."""
        item = self.table.get(token_key(token))
        return info_from_item(item) if item else None

    def list(self, user_id: str | None = None) -> list[TokenInfo]:
        """Every token (admins), or one user's own (through the byUser index)."""
        if user_id is None:
            items = self.table.scan()
        else:
            items = self.table.query("userId = :u", values={":u": user_id}, index=USER_INDEX)
        return sorted((info_from_item(i) for i in items), key=lambda i: (i.created_date, i.token_uuid))

    def get(self, token_uuid: str) -> tuple[TokenInfo, str]:
        """The token's info and its hash (the key), by its tokenUUID; NotFoundError when there is none."""
        for item in self.table.query("tokenUUID = :t", values={":t": token_uuid}, index=UUID_INDEX):
            return info_from_item(item), item["tokenHash"]
        for item in self.table.scan():  # tokens of the earlier shape are not in the index
            if item.get("tokenId") == token_uuid:
                return info_from_item(item), item["tokenHash"]
        raise NotFoundError(f"no API token with id {token_uuid}", param="tokenUUID")

    def revoke(self, token_uuid: str) -> TokenInfo:
        info, token_hash = self.get(token_uuid)
        self.table.delete({"tokenHash": token_hash})
        return info


# CLI -------------------------------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.identity.tokens", description="Manage LISA API tokens.")
    sub = parser.add_subparsers(dest="command", required=True)
    issue = sub.add_parser("issue", help="issue a token (printed once)")
    issue.add_argument("--username", required=True, help="the user the token acts as")
    issue.add_argument("--user-id", help="that user's principal id (defaults to the username)")
    issue.add_argument("--name", default="", help="what the token is for")
    issue.add_argument("--group", action="append", default=[], dest="groups",
                       help="a group (repeatable); the admin group makes an admin token")
    issue.add_argument("--system", action="store_true", help="a system token (not a person's)")
    issue.add_argument("--days", type=int, default=90, help="days until it expires (default 90; 0: never)")
    sub.add_parser("list", help="list tokens (never their values)")
    revoke = sub.add_parser("revoke", help="delete a token by its tokenUUID")
    revoke.add_argument("token_uuid")
    return parser


def main(argv: list[str] | None = None) -> int:
    from core.platform import load_platform

    args = _parser().parse_args(argv)
    store = TokenStore(load_platform().tables.tokens)
    try:
        if args.command == "issue":
            token, info = store.issue(
                user_id=args.user_id or args.username, username=args.username, name=args.name, groups=args.groups,
                is_system_token=args.system, created_by="cli", never_expires=args.days == 0,
                token_expiration=int(time.time()) + args.days * 86400 if args.days else None)
            print(f"token (shown once, store it now): {token}")
            print(info.model_dump_json(indent=2))
        elif args.command == "list":
            for info in store.list():
                expires = (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info.token_expiration))
                           if info.token_expiration else "never")
                print(f"{info.token_uuid}  user={info.username}  groups={','.join(info.groups) or '-'}  "
                      f"expires={expires}  name={info.name}")
        else:
            info = store.revoke(args.token_uuid)
            print(f"revoked {info.token_uuid} (user {info.username})")
    except (InvalidInputError, NotFoundError) as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
