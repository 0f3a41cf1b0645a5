"""The authenticated caller, as every check in both apps sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Principal:
    id: str  # JWT `sub`, the API token's owner, or "master-key"
    username: str
    groups: tuple[str, ...]
    is_admin: bool
    method: Literal["jwt", "token", "master_key"]


MASTER_PRINCIPAL = Principal(id="master-key", username="master-key", groups=(), is_admin=True, method="master_key")
