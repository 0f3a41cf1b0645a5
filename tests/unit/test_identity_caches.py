"""L5: the auth caches under a flood of unknown credentials. Eviction from a full cache costs constant work (no
scan), unknown API tokens are looked up once each while remembered, and lookups run at most N at once."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from core.errors import AuthenticationError
from core.platform import AuthOutputs
from core.secrets import SecretReader
from services.identity.authenticator import Authenticator
from services.identity.expiring_cache import ExpiringCache
from services.identity.master_key import MasterKey
from services.identity.tokens import TokenInfo

AUTH = AuthOutputs(authority="https://idp.example/realms/lisa", client_id="web", admin_group="admins",
                   jwt_groups_property="groups", jwks_url="memory://jwks")


class CountedExpiry(float):
    """An expiry that counts how often anything compares it (in either operand order)."""

    comparisons = 0

    def _count(op):  # noqa: N805 (a helper that builds methods)
        def compare(self, other):
            CountedExpiry.comparisons += 1
            return op(float(self), other)

        return compare

    __lt__ = _count(float.__lt__)
    __le__ = _count(float.__le__)
    __gt__ = _count(float.__gt__)
    __ge__ = _count(float.__ge__)
    del _count


def test_putting_into_a_full_cache_does_not_scan_it():
    cache: ExpiringCache[int] = ExpiringCache(max_entries=2_000)
    until = time.time() + 60
    for i in range(2_000):
        cache.put(f"old-{i}", i, CountedExpiry(until))
    CountedExpiry.comparisons = 0
    for i in range(500):
        cache.put(f"new-{i}", i, CountedExpiry(until))
    assert CountedExpiry.comparisons <= 2 * 500, f"{CountedExpiry.comparisons} comparisons for 500 puts"
    assert len(cache) == 2_000 and cache.get("old-0") is None and cache.get("old-499") is None
    assert cache.get("old-500") == 500 and cache.get("new-499") == 499


def test_the_oldest_entry_goes_first_and_a_rewrite_renews_its_place():
    cache: ExpiringCache[str] = ExpiringCache(max_entries=3)
    for key in ("a", "b", "c"):
        cache.put(key, key, time.time() + 60)
    cache.put("a", "a2", time.time() + 60)  # written again: now the newest
    cache.put("d", "d", time.time() + 60)
    assert cache.get("b") is None and [cache.get(k) for k in ("a", "c", "d")] == ["a2", "c", "d"]


class CountingLookup:
    """The tokens table as the authenticator sees it: no token exists; counts lookups and how many ran at once."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls = 0
        self.running = 0
        self.most_at_once = 0

    async def __call__(self, token: str) -> TokenInfo | None:
        self.calls += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.running -= 1
        return None


def _authenticator(lookup: CountingLookup, **kwargs) -> Authenticator:
    master_key = MasterKey("master", reader=SecretReader(fetch=lambda _: "sk-master-key-0000"))
    return Authenticator(AUTH, master_key, lookup, **kwargs)


async def _refused(authenticator: Authenticator, token: str) -> bool:
    with pytest.raises(AuthenticationError):
        await authenticator.authenticate_values(f"Bearer {token}", None)
    return True


def test_a_flood_of_random_tokens_costs_one_lookup_each():
    lookup = CountingLookup(delay_s=0.001)
    authenticator = _authenticator(lookup)
    tokens = [f"lisa-{secrets.token_urlsafe(32)}" for _ in range(300)]

    async def flood() -> None:
        for _ in range(3):  # each token three times, all at once, then again while they are remembered
            await asyncio.gather(*[_refused(authenticator, t) for t in tokens * 2])

    asyncio.run(flood())
    assert lookup.calls == len(tokens)


def test_token_lookups_run_at_most_the_configured_number_at_once():
    lookup = CountingLookup(delay_s=0.01)
    authenticator = _authenticator(lookup, max_token_lookups=4)

    async def flood() -> None:
        await asyncio.gather(*[_refused(authenticator, f"lisa-random-{i}") for i in range(40)])

    asyncio.run(flood())
    assert lookup.calls == 40 and lookup.most_at_once == 4


def test_the_master_key_still_authenticates_beside_a_flood():
    authenticator = _authenticator(CountingLookup())

    async def run():
        return await authenticator.authenticate_values("Bearer sk-master-key-0000", None)

    assert asyncio.run(run()).is_admin
