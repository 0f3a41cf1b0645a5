"""Comparing a dynamic resource's old and new inputs the way Pulumi hands them back."""

from __future__ import annotations

from typing import Any


def canonical(value: Any) -> Any:
    """Pulumi hands numbers back as floats (1 and 1.0 are the same input) and drops null members."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def same(olds: dict[str, Any], news: dict[str, Any], key: str) -> bool:
    return canonical(olds.get(key)) == canonical(news.get(key))
