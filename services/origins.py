"""The browser origins an app answers with CORS headers, as one comma-separated environment variable."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator
from pydantic_settings import NoDecode


def split_origins(value: object) -> object:
    if isinstance(value, str):
        return [v.strip().rstrip("/") for v in value.split(",") if v.strip()]
    return value


# `a,b` → ["a", "b"]; `*` allows any origin. NoDecode: pydantic-settings would otherwise expect JSON.
Origins = Annotated[list[str], NoDecode, BeforeValidator(split_origins)]
