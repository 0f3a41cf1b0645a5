"""This worker's heartbeat in the models table: the registry version it routes (core/serve_heartbeats.py says why).

Written right after each rebuild of the routes (so the api learns of it within one write) and every `interval_s`
besides (so the api can tell a live worker from a gone one); removed when the worker stops.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Callable

from core import serve_heartbeats as heartbeats
from core.errors import UpstreamError
from core.periodic import Periodic
from core.serve_heartbeats import HEARTBEATS_KEY
from services.serve.dynamo import AsyncDynamo

log = logging.getLogger("lisa.serve.heartbeat")


class Heartbeat:
    def __init__(self, dynamo: AsyncDynamo, table: str, version: Callable[[], int | None], *, interval_s: float) -> None:
        self.dynamo = dynamo
        self.table = table
        self.version = version  # () -> the registry version the routes were built from (None before the first)
        self.instance_id = uuid.uuid4().hex[:16]
        self._map_made = False
        self._ticker = Periodic(self.beat, interval_s, name="serve heartbeat")

    async def beat(self) -> None:
        version = self.version()
        if version is None:
            return
        change = heartbeats.beat(self.instance_id, version, time.time())
        try:
            await self._apply(change)
        except UpstreamError as exc:
            if self._map_made or exc.code != "ValidationException":
                raise
            # The first worker ever: the `instances` map does not exist yet.
            await self._apply(heartbeats.create_map())
            self._map_made = True
            await self._apply(change)

    async def _apply(self, change: heartbeats.Update) -> None:
        await self.dynamo.update_item(self.table, {"modelId": HEARTBEATS_KEY}, change.expression, names=change.names,
                                      values=change.values)

    def start(self) -> None:
        self._ticker.start()

    async def stop(self) -> None:
        await self._ticker.stop()
        try:
            await self._apply(heartbeats.leave(self.instance_id))
        except Exception as exc:  # noqa: BLE001 (the entry goes stale on its own)
            log.warning("could not remove this worker's heartbeat: %s", type(exc).__name__)
