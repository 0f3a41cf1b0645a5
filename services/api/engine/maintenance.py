"""The engine's background passes, run by the api app: the sweep that picks up transitional models no job runs, the
scheduled drift check, and the model schedules' tick (services/api/model_scheduler.py). Each pass runs in a thread (they call the Pulumi CLI and AWS); with several api
processes, a lease in the models table lets one of them run each drift pass."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from core.leases import Lease, LeaseTimeout
from core.periodic import Periodic
from services.api.engine.jobs import DeploymentEngine

log = logging.getLogger("lisa.engine")


class Maintenance:
    def __init__(self, engine: DeploymentEngine, *, sweep_s: float, drift_check_s: float,
                 scheduler: Callable[[], object] | None = None, scheduler_tick_s: float = 30.0) -> None:
        self.engine = engine
        self.drift_check_s = drift_check_s
        self._passes = [Periodic(self.sweep, sweep_s, name="model sweep")]
        if drift_check_s > 0:
            self._passes.append(Periodic(self.check_drift, drift_check_s, name="drift check"))
        if scheduler is not None:
            self._passes.append(Periodic(lambda: asyncio.to_thread(scheduler), scheduler_tick_s, name="model schedules"))

    async def sweep(self) -> None:
        picked = await asyncio.to_thread(self.engine.sweep)
        if picked:
            log.info("picked up %d transitional model(s): %s", len(picked), ", ".join(picked))

    async def check_drift(self) -> None:
        # Held for most of the interval and never released: the other api processes skip this pass.
        lease = Lease(self.engine.registry.table, "drift-check", ttl=self.drift_check_s * 0.9, timeout=0)
        try:
            await asyncio.to_thread(lease.acquire)
        except LeaseTimeout:
            return
        found = await asyncio.to_thread(self.engine.check_all_drift)
        drifted = {m: n for m, n in found.items() if n}
        if drifted:
            log.warning("drift found: %s", ", ".join(f"{m} ({n})" for m, n in sorted(drifted.items())))

    def start(self) -> None:
        for tick in self._passes:
            tick.start()

    async def stop(self) -> None:
        for tick in self._passes:
            await tick.stop()
