"""Who is calling: the one auth module of the platform (serve uses it directly, the api app through its dependencies).

A request carries one credential, in `Authorization: Bearer <c>` or `Api-Key: <c>` (both only if equal):
- the LiteLLM master key (from Secrets Manager, fetched once, compared in constant time): an admin;
- an IdP JWT, verified with PyJWT against the authority's JWKS (alg allow-list, kid lookup with a cached key set
  refreshed on an unknown kid at most every `jwks_min_refresh_s`, issuer, audience = clientId or, for Cognito access
  tokens that carry no `aud`, `client_id` = clientId, exp/nbf/iat with a small leeway); admin = member of the admin
  group at the dotted `jwtGroupsProperty` path;
- an API token, looked up in the tokens table by its SHA-256 and refused after its `tokenExpiration`.
Verified JWTs are cached until they expire; token lookups for `TOKEN_CACHE_TTL_S` (so a revocation takes effect
within that time). Bad credentials raise `AuthenticationError` (401); a valid one without the right raises
`PermissionDeniedError` (403).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Literal, Mapping

import jwt
from starlette.requests import Request

from core import aws
from core.errors import AuthenticationError, PermissionDeniedError
from core.platform import AuthOutputs, PlatformOutputs
from services.serve.cache import ExpiringCache
from services.serve.tokens import TokenInfo, TokenStore, info_from_item, token_key

log = logging.getLogger("lisa.auth")

ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384"})
# What key each algorithm needs: (kty, EC curve).
_KEY_FOR_ALG = {"RS256": ("RSA", None), "RS384": ("RSA", None), "RS512": ("RSA", None), "ES256": ("EC", "P-256"),
                "ES384": ("EC", "P-384")}
CLOCK_LEEWAY_S = 10
TOKEN_CACHE_TTL_S = 5.0
MAX_CREDENTIAL_CHARS = 16_384
MASTER_KEY_RETRY_S = 30.0


@dataclass(frozen=True)
class Principal:
    id: str  # JWT `sub`, the API token's owner, or "master-key"
    username: str
    groups: tuple[str, ...]
    is_admin: bool
    method: Literal["jwt", "token", "master_key"]


MASTER_PRINCIPAL = Principal(id="master-key", username="master-key", groups=(), is_admin=True, method="master_key")


# Pure parts -------------------------------------------------------------------------------------------------------
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
    return Principal(id=sub, username=username, groups=groups, is_admin=auth.admin_group in groups, method="jwt")


def principal_from_token(info: TokenInfo) -> Principal:
    return Principal(id=info.owner, username=info.username, groups=tuple(info.groups), is_admin=info.is_admin, method="token")


# Signing keys -----------------------------------------------------------------------------------------------------
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


# The authenticator ------------------------------------------------------------------------------------------------
class MasterKey:
    def __init__(self, secret_id: str) -> None:
        self.secret_id = secret_id
        self._value: bytes | None = None
        self._tried_at = float("-inf")
        self._lock: asyncio.Lock | None = None

    async def matches(self, credential: str) -> bool:
        if self._value is None:
            self._lock = self._lock or asyncio.Lock()
            # Concurrent first callers wait for the one load instead of being refused while it runs.
            async with self._lock:
                if self._value is None and time.monotonic() - self._tried_at >= MASTER_KEY_RETRY_S:
                    await self.load()
        return self._value is not None and hmac.compare_digest(credential.encode(), self._value)

    async def load(self) -> None:
        self._tried_at = time.monotonic()
        try:
            secret = await asyncio.to_thread(
                lambda: aws.client("secretsmanager").get_secret_value(SecretId=self.secret_id)["SecretString"])
            self._value = secret.encode()
        except Exception as exc:  # noqa: BLE001 (without it only the master key stops working)
            log.warning("could not read the master key secret: %s", type(exc).__name__)


class Authenticator:
    def __init__(self, auth: AuthOutputs, tokens: TokenStore, master_key: MasterKey, *,
                 jwks_min_refresh_s: float = 30.0, max_cached: int = 10_000, dynamo: Any = None) -> None:
        self.auth = auth
        self.tokens = tokens
        # serve passes its on-loop DynamoDB reader (services/serve/dynamo.py); otherwise boto3 in a thread.
        self.dynamo = dynamo
        self.master_key = master_key
        self.jwt = JwtVerifier(auth, JwksCache(auth.resolved_jwks_url, min_refresh_s=jwks_min_refresh_s))
        self._verified: ExpiringCache[Principal] = ExpiringCache(max_cached)
        self._unknown_tokens: ExpiringCache[bool] = ExpiringCache(max_cached)
        self._inflight: dict[str, asyncio.Future] = {}

    @classmethod
    def from_platform(cls, platform: PlatformOutputs, **kwargs: Any) -> Authenticator:
        return cls(platform.auth, TokenStore(platform.tables.tokens), MasterKey(platform.master_key_secret_id), **kwargs)

    async def start(self) -> None:
        """Warm what the first request would otherwise wait for (optional)."""
        await self.master_key.load()

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        return await self.authenticate_values(_header(headers, "authorization"), _header(headers, "api-key"))

    async def authenticate_values(self, authorization: str | None, api_key: str | None) -> Principal:
        credential = credential_from(authorization, api_key)
        principal = self._verified.get(credential)
        if principal is not None:
            return principal
        if await self.master_key.matches(credential):
            self._verified.put(credential, MASTER_PRINCIPAL, float("inf"))
            return MASTER_PRINCIPAL
        if looks_like_jwt(credential):
            principal, until = await self.jwt.verify(credential)
        else:
            principal, until = await self._single_flight(credential, self._token_principal)
        self._verified.put(credential, principal, until)
        return principal

    def forget(self, credential: str) -> None:
        """Drop a cached credential (after revoking it in this process)."""
        self._verified.discard(credential)

    async def _token_principal(self, token: str) -> tuple[Principal, float]:
        if self._unknown_tokens.get(token):
            raise AuthenticationError("unknown API token")
        info = await self._lookup(token)
        now = time.time()
        if info is None:
            self._unknown_tokens.put(token, True, now + TOKEN_CACHE_TTL_S)
            raise AuthenticationError("unknown API token")
        if info.expired(now):
            raise AuthenticationError("the API token has expired")
        until = now + TOKEN_CACHE_TTL_S
        if info.token_expiration is not None:
            until = min(until, info.token_expiration)
        return principal_from_token(info), until

    async def _lookup(self, token: str) -> TokenInfo | None:
        if self.dynamo is None:
            return await asyncio.to_thread(self.tokens.lookup, token)
        item = await self.dynamo.get_item(self.tokens.table.name, token_key(token))
        return info_from_item(item) if item else None

    async def _single_flight(self, key: str, work: Callable[[str], Awaitable[tuple[Principal, float]]]):
        # Concurrent first requests with one token share one table lookup.
        future = self._inflight.get(key)
        if future is not None:
            return await asyncio.shield(future)
        future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await work(key)
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved when nobody else waits
            raise
        finally:
            self._inflight.pop(key, None)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None and not hasattr(headers, "getlist"):  # a plain dict: match names case-insensitively
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


# FastAPI dependencies ---------------------------------------------------------------------------------------------
async def require_user(request: Request) -> Principal:
    principal = await request.app.state.authenticator.authenticate(request.headers)
    request.state.principal = principal
    return principal


async def require_admin(request: Request) -> Principal:
    principal = await require_user(request)
    if not principal.is_admin:
        raise PermissionDeniedError("this operation needs an admin")
    return principal
