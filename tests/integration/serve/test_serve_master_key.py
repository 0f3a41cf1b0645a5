"""The LiteLLM master key from Secrets Manager authenticates as admin, also for concurrent first callers."""

from __future__ import annotations

import asyncio

from services.identity.master_key import MasterKey
from tests.fixtures.stage import TEST_MASTER_KEY


def test_concurrent_first_calls_all_match_while_the_secret_loads(platform):
    outputs, _ = platform
    key = MasterKey(outputs.master_key_secret_id)

    async def run():
        return await asyncio.gather(*[key.matches(TEST_MASTER_KEY) for _ in range(10)])

    assert asyncio.run(run()) == [True] * 10


def test_a_wrong_key_does_not_match(platform):
    outputs, _ = platform
    assert asyncio.run(MasterKey(outputs.master_key_secret_id).matches("sk-not-the-key-000")) is False
