"""serve's on-loop DynamoDB reader agrees with boto3 against the emulator, and fails as an UpstreamError."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import UpstreamError
from core.registry import VERSION_KEY
from services.serve.dynamo import AsyncDynamo
from services.serve.upstream import Upstreams


def _read(table: str, key: dict, **kwargs):
    async def run():
        upstreams = Upstreams()
        try:
            return await AsyncDynamo(upstreams).get_item(table, key, **kwargs)
        finally:
            upstreams.close()

    return asyncio.run(run())


def test_registry_version_matches_boto3(registry, models):
    version = registry.bump_version()
    item = _read(registry.table, {"modelId": VERSION_KEY}, projection=["version"])
    assert item == {"version": version} and version == registry.version()


def test_missing_item_is_none(registry):
    assert _read(registry.table, {"modelId": "no-such-model"}) is None


def test_unknown_table_is_an_upstream_error(moto_endpoint):
    with pytest.raises(UpstreamError):
        _read("no-such-table", {"modelId": "x"})
