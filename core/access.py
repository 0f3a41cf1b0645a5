"""Who may use what, by group (LISA's rule): a resource with no allowed groups is open to every signed-in user;
otherwise its users are the members of at least one of its groups, and admins use everything."""

from __future__ import annotations

from typing import AbstractSet, Iterable


def may_use(groups: Iterable[str], allowed_groups: AbstractSet[str] | Iterable[str], *, is_admin: bool = False) -> bool:
    if is_admin:
        return True
    allowed = allowed_groups if isinstance(allowed_groups, (set, frozenset)) else set(allowed_groups)
    return not allowed or not allowed.isdisjoint(groups)


def admitted(groups: Iterable[str], *, user_group: str, is_admin: bool, rag_admin_group: str = "") -> bool:
    """LISA's `userGroup`: when set, only its members (and admins and RAG admins) may use the platform at all."""
    if not user_group or is_admin:
        return True
    groups = set(groups)
    return user_group in groups or bool(rag_admin_group and rag_admin_group in groups)
