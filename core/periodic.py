"""A coroutine run every few seconds in the background of an asyncio app (the registry poll, usage and audit flushes).

A tick that fails is logged (the 1st, 10th and every 100th failure in a row, so a long outage does not flood the log)
and the next tick runs on time; `stop` cancels the task and waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

log = logging.getLogger("lisa.periodic")


class Periodic:
    def __init__(self, tick: Callable[[], Awaitable[object]], interval_s: float, *, name: str) -> None:
        self.tick = tick
        self.interval_s = interval_s
        self.name = name
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        failures = 0
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.tick()
                failures = 0
            except Exception as exc:  # noqa: BLE001 (keep going: the next tick may succeed)
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("%s failed (%d in a row): %s", self.name, failures, type(exc).__name__)
