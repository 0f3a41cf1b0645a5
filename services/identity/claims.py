"""What a verified IdP token's claims say: audience, subject, groups (at the stage's `jwtGroupsProperty`), admin."""

from __future__ import annotations

from typing import Any, Mapping

from core.errors import AuthenticationError
from core.platform import AuthOutputs
from services.identity.principal import Principal, with_roles


def groups_at(claims: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """The groups at `path`: a claim named exactly so, else a dotted path into nested objects. Absent → none."""
    if path in claims:
        value: Any = claims[path]
    else:
        value = claims
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return ()
            value = value[part]
    if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
        raise AuthenticationError(f"the token's groups claim ({path}) must be a list of strings")
    return tuple(value)


def check_audience(claims: Mapping[str, Any], client_id: str) -> None:
    """`aud` must name the client; a token without `aud` (a Cognito access token) must carry `client_id` instead."""
    if "aud" in claims:
        aud = claims["aud"]
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or client_id not in audiences:
            raise AuthenticationError("the token was issued for another audience")
        return
    if claims.get("client_id") != client_id:
        raise AuthenticationError("the token was issued for another client")
    if claims.get("token_use", "access") != "access":
        raise AuthenticationError("a token without an audience must be an access token")


def principal_from_claims(claims: Mapping[str, Any], auth: AuthOutputs) -> Principal:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise AuthenticationError("the token has no subject")
    groups = groups_at(claims, auth.jwt_groups_property)
    username = next(
        (claims[k] for k in ("cognito:username", "username", "preferred_username", "email") if isinstance(claims.get(k), str)),
        sub,
    )
    return with_roles(auth, id=sub, username=username, groups=groups, method="jwt")
