"""The authenticated caller, as every check in both apps sees it, and LISA's roles by group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.access import admitted
from core.platform import AuthOutputs


@dataclass(frozen=True)
class Principal:
    id: str  # JWT `sub`, the API token's user, or "master-key"
    username: str
    groups: tuple[str, ...]
    is_admin: bool
    method: Literal["jwt", "token", "master_key"]
    token_id: str | None = None  # the API token's tokenUUID (rate limits and usage are kept per token)
    is_rag_admin: bool = False  # manages repositories and their documents (admins, ragAdminGroup)
    may_issue_tokens: bool = False  # self-service API tokens (admins, apiGroup)
    admitted: bool = True  # a member of the userGroup (or no userGroup is set): may use the platform at all


def with_roles(auth: AuthOutputs, *, id: str, username: str, groups: tuple[str, ...],
               method: Literal["jwt", "token"], token_id: str | None = None, admin: bool = False) -> Principal:
    """A principal with LISA's roles worked out from its groups (`admin` forces admin, for legacy admin tokens)."""
    is_admin = admin or auth.admin_group in groups
    rag_admin = is_admin or bool(auth.rag_admin_group and auth.rag_admin_group in groups)
    return Principal(
        id=id, username=username, groups=groups, is_admin=is_admin, method=method, token_id=token_id,
        is_rag_admin=rag_admin,
        may_issue_tokens=is_admin or bool(auth.api_group and auth.api_group in groups),
        admitted=admitted(groups, user_group=auth.user_group, is_admin=is_admin, rag_admin_group=auth.rag_admin_group),
    )


MASTER_PRINCIPAL = Principal(id="master-key", username="master-key", groups=(), is_admin=True, method="master_key",
                             is_rag_admin=True, may_issue_tokens=True)
