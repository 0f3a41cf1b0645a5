"""IdP JWTs verified with PyJWT against the authority's JWKS.

Algorithms are allow-listed (RSA/EC only, never symmetric); the key is looked up by kid in a cached key set that is
refetched on an unknown kid at most every `min_refresh_s`; issuer, audience (or Cognito's `client_id`), exp/nbf/iat
are checked with a small leeway.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import jwt

from core.errors import AuthenticationError
from core.platform import AuthOutputs
from services.identity.claims import check_audience, principal_from_claims
from services.identity.principal import Principal

log = logging.getLogger("lisa.auth")

ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384"})
# What key each algorithm needs: (kty, EC curve).
_KEY_FOR_ALG = {"RS256": ("RSA", None), "RS384": ("RSA", None), "RS512": ("RSA", None), "ES256": ("EC", "P-256"),
                "ES384": ("EC", "P-384")}
CLOCK_LEEWAY_S = 10


def _fetch_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (the URL comes from platform outputs)
        return json.loads(response.read())


@dataclass(frozen=True)
class SigningKey:
    key: Any  # a cryptography public key
    kty: str
    crv: str | None
    alg: str | None  # the JWK's own `alg`, when it names one

    def fits(self, alg: str) -> bool:
        kty, crv = _KEY_FOR_ALG[alg]
        return self.kty == kty and (crv is None or self.crv == crv) and self.alg in (None, alg)


def signing_keys(jwks: Mapping[str, Any]) -> dict[str | None, SigningKey]:
    """The usable signature keys of a JWKS by kid: RSA/EC only (never symmetric), algorithm allowed."""
    keys: dict[str | None, SigningKey] = {}
    for data in jwks.get("keys", []) if isinstance(jwks, Mapping) else []:
        if not isinstance(data, dict) or data.get("kty") not in ("RSA", "EC") or data.get("use", "sig") != "sig":
            continue
        if "alg" in data and data["alg"] not in ALLOWED_ALGORITHMS:
            continue
        try:
            keys[data.get("kid")] = SigningKey(jwt.PyJWK(data).key, data["kty"], data.get("crv"), data.get("alg"))
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            log.warning("skipping an unusable key in the JWKS (kid %s)", data.get("kid"))
    return keys


class JwksCache:
    """The authority's signing keys by kid; refetched on an unknown kid, at most every `min_refresh_s`."""

    def __init__(self, url: str, *, min_refresh_s: float = 30.0, max_age_s: float = 3600.0,
                 fetch: Callable[[str], Any] = _fetch_json) -> None:
        self.url = url
        self.min_refresh_s = min_refresh_s
        self.max_age_s = max_age_s
        self._fetch = fetch
        self._keys: dict[str | None, SigningKey] = {}
        self._fetched_at = float("-inf")
        self._lock: asyncio.Lock | None = None

    async def key(self, kid: str | None) -> SigningKey:
        key = self._lookup(kid)
        age = time.monotonic() - self._fetched_at
        if key is not None and age < self.max_age_s:
            return key
        self._lock = self._lock or asyncio.Lock()
        # A request arriving while a fetch runs waits for it rather than being refused for a key not yet seen.
        if key is None and age < self.min_refresh_s and not self._lock.locked():
            raise AuthenticationError("the token is signed with an unknown key")
        async with self._lock:
            if time.monotonic() - self._fetched_at >= self.min_refresh_s:
                await self._refresh()
        key = self._lookup(kid)
        if key is None:
            raise AuthenticationError("the token is signed with an unknown key")
        return key

    def _lookup(self, kid: str | None) -> SigningKey | None:
        if kid is None and len(self._keys) == 1:  # an IdP with one key may leave kid out
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        self._fetched_at = time.monotonic()  # also on failure: a down IdP is not hammered
        try:
            self._keys = signing_keys(await asyncio.to_thread(self._fetch, self.url))
        except Exception as exc:  # noqa: BLE001 (any fetch failure keeps the keys we had)
            log.warning("could not fetch the JWKS from %s: %s", self.url, type(exc).__name__)


class JwtVerifier:
    def __init__(self, auth: AuthOutputs, jwks: JwksCache) -> None:
        self.auth = auth
        self.jwks = jwks
        self._issuers = {auth.authority, auth.authority.rstrip("/")}

    async def verify(self, token: str) -> tuple[Principal, float]:
        """The token's principal and expiry; AuthenticationError for anything not exactly right."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError("the bearer token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise AuthenticationError(f"the token's algorithm is not allowed ({str(alg)[:16]})")
        key = await self.jwks.key(header.get("kid"))
        if not key.fits(alg):
            raise AuthenticationError("the token's algorithm does not match its signing key")
        try:
            claims = jwt.decode(
                token, key.key, algorithms=[alg], issuer=self._issuers, leeway=CLOCK_LEEWAY_S,
                options={"verify_aud": False, "require": ["exp", "iss", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid token: {_reason(exc)}") from None
        check_audience(claims, self.auth.client_id)
        return principal_from_claims(claims, self.auth), float(claims["exp"])


def _reason(exc: jwt.PyJWTError) -> str:
    # PyJWT's messages are safe (they never echo the token); keep them short.
    return str(exc)[:120] or type(exc).__name__
