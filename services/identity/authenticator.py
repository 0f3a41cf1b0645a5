"""Who is calling: credential → principal, the one authentication path of both apps.

A request carries one credential (services.identity.credentials):
- the LiteLLM master key (services.identity.master_key; compared in constant time): an admin;
- an IdP JWT (services.identity.jwks): its subject, groups and admin flag;
- an API token, looked up by its SHA-256 in the tokens table and refused after its `tokenExpiration`.
Verified credentials are cached (JWTs until they expire, API tokens for `TOKEN_CACHE_TTL_S` so that a revocation
takes effect within it, the master key for its TTL); unknown API tokens are remembered for as long, concurrent
first requests with one token share one lookup, and at most `max_token_lookups` lookups run at once. Bad
credentials raise `AuthenticationError` (401); a valid one without the right raises `PermissionDeniedError` (403),
as does any credential of a user outside LISA's `userGroup` when one is set (refused everywhere, in both apps).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Mapping

from core.errors import AuthenticationError, PermissionDeniedError
from core.platform import AuthOutputs, PlatformOutputs
from services.identity.credentials import credential_from, header_value, looks_like_jwt
from services.identity.expiring_cache import ExpiringCache
from services.identity.jwks import JwksCache, JwtVerifier
from services.identity.master_key import MasterKey
from services.identity.principal import MASTER_PRINCIPAL, Principal
from services.identity.settings import IdentitySettings
from services.identity.tokens import TokenInfo, TokenStore

TOKEN_CACHE_TTL_S = 5.0

# Reads one API token's record (None: no such token). serve passes its on-loop reader; by default boto3 in a thread.
TokenLookup = Callable[[str], Awaitable[TokenInfo | None]]


class Authenticator:
    def __init__(self, auth: AuthOutputs, master_key: MasterKey, lookup_token: TokenLookup, *,
                 tokens: TokenStore | None = None, jwks_min_refresh_s: float = 30.0, max_cached: int = 10_000,
                 max_token_lookups: int = 32) -> None:
        self.auth = auth
        self.master_key = master_key
        self.lookup_token = lookup_token
        self.tokens = tokens  # the api's token routes issue, list and revoke through it
        self.jwt = JwtVerifier(auth, JwksCache(auth.resolved_jwks_url, min_refresh_s=jwks_min_refresh_s))
        self._verified: ExpiringCache[Principal] = ExpiringCache(max_cached)
        self._unknown_tokens: ExpiringCache[bool] = ExpiringCache(max_cached)
        self._inflight: dict[str, asyncio.Future] = {}
        self._max_token_lookups = max_token_lookups
        self._lookup_slots: tuple[Any, asyncio.Semaphore] | None = None

    @classmethod
    def from_platform(cls, platform: PlatformOutputs, *, settings: IdentitySettings | None = None,
                      lookup_token: TokenLookup | None = None, **kwargs: Any) -> Authenticator:
        settings = settings or IdentitySettings()
        store = TokenStore(platform.tables.tokens)
        master_key = MasterKey(platform.master_key_secret_id, ttl_s=settings.master_key_ttl_s,
                               grace_s=settings.master_key_grace_s)
        return cls(platform.auth, master_key, lookup_token or _threaded_lookup(store), tokens=store,
                   max_cached=settings.max_cached_credentials, max_token_lookups=settings.max_token_lookups, **kwargs)

    async def start(self) -> None:
        """Warm what the first request would otherwise wait for (optional)."""
        await self.master_key.load()

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        return await self.authenticate_values(header_value(headers, "authorization"), header_value(headers, "api-key"))

    async def authenticate_values(self, authorization: str | None, api_key: str | None) -> Principal:
        credential = credential_from(authorization, api_key)
        principal = self._verified.get(credential)
        if principal is not None:
            if not principal.admitted:
                raise _not_admitted(self.auth)
            return principal
        which = await self.master_key.match(credential)
        if which is not None:
            # Only the current value is cached (for the TTL): the previous one is checked again on each use, so it
            # stops working when its grace ends.
            if which == 0:
                self._verified.put(credential, MASTER_PRINCIPAL, time.time() + self.master_key.ttl_s)
            return MASTER_PRINCIPAL
        if looks_like_jwt(credential):
            principal, until = await self.jwt.verify(credential)
        else:
            principal, until = await self._single_flight(credential, self._token_principal)
        self._verified.put(credential, principal, until)
        if not principal.admitted:
            raise _not_admitted(self.auth)
        return principal

    def forget(self, credential: str) -> None:
        """Drop a cached credential (after revoking it in this process)."""
        self._verified.discard(credential)

    async def _token_principal(self, token: str) -> tuple[Principal, float]:
        if self._unknown_tokens.get(token):
            raise AuthenticationError("unknown API token")
        async with self._slots():
            info = await self.lookup_token(token)
        now = time.time()
        if info is None:
            self._unknown_tokens.put(token, True, now + TOKEN_CACHE_TTL_S)
            raise AuthenticationError("unknown API token")
        if info.expired(now):
            raise AuthenticationError("the API token has expired")
        until = now + TOKEN_CACHE_TTL_S
        if info.token_expiration is not None:
            until = min(until, info.token_expiration)
        return info.principal(self.auth), until

    def _slots(self) -> asyncio.Semaphore:
        # A semaphore belongs to one event loop; an app has one, tests may run several in turn.
        loop = asyncio.get_running_loop()
        if self._lookup_slots is None or self._lookup_slots[0] is not loop:
            self._lookup_slots = (loop, asyncio.Semaphore(self._max_token_lookups))
        return self._lookup_slots[1]

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


def _not_admitted(auth: AuthOutputs) -> PermissionDeniedError:
    return PermissionDeniedError(f"only members of the group {auth.user_group} may use this platform")


def _threaded_lookup(store: TokenStore) -> TokenLookup:
    async def lookup(token: str) -> TokenInfo | None:
        return await asyncio.to_thread(store.lookup, token)

    return lookup
