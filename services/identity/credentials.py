"""The one credential a request carries: `Authorization: Bearer <c>` or `Api-Key: <c>` (both only if equal)."""

from __future__ import annotations

import hmac
from typing import Mapping

from core.errors import AuthenticationError

MAX_CREDENTIAL_CHARS = 16_384


def credential_from(authorization: str | None, api_key: str | None) -> str:
    """The one credential a request carries, from its Authorization and Api-Key header values."""
    bearer = None
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationError("the Authorization header must use the Bearer scheme")
        bearer = value.strip()
        if not bearer:
            raise AuthenticationError("the Authorization header carries an empty bearer token")
    if api_key is not None:
        api_key = api_key.strip()
        if not api_key:
            raise AuthenticationError("the Api-Key header is empty")
    if bearer and api_key and not hmac.compare_digest(bearer.encode(), api_key.encode()):
        raise AuthenticationError("Authorization and Api-Key carry different credentials; send one")
    credential = bearer or api_key
    if not credential:
        raise AuthenticationError("missing credentials: send Authorization: Bearer <token> or Api-Key: <token>")
    if len(credential) > MAX_CREDENTIAL_CHARS:
        raise AuthenticationError("the credential is too long")
    return credential


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value from Starlette's headers, or from a plain dict with names in any case."""
    value = headers.get(name)
    if value is None and not hasattr(headers, "getlist"):
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value
