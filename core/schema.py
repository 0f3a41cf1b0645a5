"""Pydantic base classes shared by every schema in the project.

The wire format is LISA's camelCase; Python code uses snake_case. Models accept both on input and always
serialize by alias, so `model_dump()` is the wire shape without anyone remembering `by_alias=True`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        str_strip_whitespace=True,
    )


# Name the tags of discriminated unions `Tag(UNION_TAG + "name")` so error paths leave them out.
UNION_TAG = "union:"


def format_error_location(loc: tuple[int | str, ...]) -> str:
    """`("authConfig", "clientId")` → `authConfig.clientId`; list indexes as `[0]`; union tags dropped."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif "[" in part or part.startswith(("function-", UNION_TAG)):
            continue  # pydantic's names for union branches and validators say nothing to the user
        else:
            path += f".{part}" if path else part
    return path or "(root)"


# A model validator names the field it complains about first ("memoryMib: …"); that field joins the path.
_FIELD_PREFIX = re.compile(r"^([a-z][A-Za-z0-9_]*(?:\.[a-z][A-Za-z0-9_]*|\[\d+\])*): (.+)$", re.DOTALL)


def describe_validation_errors(errors: list[dict]) -> list[str]:
    """One line per problem, naming the field path and what was expected."""
    lines = []
    for err in errors:
        msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        path = format_error_location(tuple(err["loc"]))
        named = _FIELD_PREFIX.match(msg)
        if named:
            field, msg = named.groups()
            path = field if path == "(root)" else f"{path}.{field}"
        lines.append(f"{path}: {msg}")
    return lines
