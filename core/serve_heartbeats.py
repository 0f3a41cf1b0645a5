"""Which registry version each serve worker routes: how the api knows when a model change has reached the gateway.

Every serve worker (each uvicorn worker of each serve task) writes a heartbeat into one reserved item of the models
table, `#serve`: `instances.<instanceId> = {"version": <registry version it routes>, "at": <epoch s>}`, right after
each rebuild of its routes and every few seconds besides. The deployment engine reads that one item: a model is
InService (or Stopped) only once every live worker routes at least the version its registration wrote. A worker
whose heartbeat is older than `stale_after` is gone (scaled in, crashed) and no longer waited for; one that stops
cleanly removes its entry. No discovery, no list of URLs: any number of serve tasks, anywhere, report themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from core.dynamo import Table

HEARTBEATS_KEY = "#serve"
INSTANCES = "instances"
# Entries this old are pruned by the engine (their workers are long gone).
PRUNE_AFTER_S = 3600.0


@dataclass(frozen=True)
class Laggard:
    instance: str
    version: int


def live_instances(item: dict[str, Any] | None, now: float, stale_after: float) -> dict[str, int]:
    """instance id → routed version, for the workers that reported within `stale_after` seconds."""
    instances = (item or {}).get(INSTANCES) or {}
    return {name: int(entry.get("version", 0)) for name, entry in instances.items()
            if isinstance(entry, dict) and now - float(entry.get("at", 0)) <= stale_after}


def laggards(item: dict[str, Any] | None, version: int, now: float, stale_after: float) -> list[Laggard]:
    """The live workers that do not route `version` yet (none: the change has reached every gateway)."""
    return sorted((Laggard(name, routed) for name, routed in live_instances(item, now, stale_after).items()
                   if routed < version), key=lambda lag: lag.instance)


def stale_entries(item: dict[str, Any] | None, now: float, older_than: float = PRUNE_AFTER_S) -> list[str]:
    instances = (item or {}).get(INSTANCES) or {}
    return [name for name, entry in instances.items()
            if not isinstance(entry, dict) or now - float(entry.get("at", 0)) > older_than]


@dataclass(frozen=True)
class Update:
    """One UpdateItem expression with its placeholders (plain values), for core.dynamo and serve's on-loop client."""

    expression: str
    names: dict[str, str]
    values: dict[str, Any] | None = None


def beat(instance_id: str, version: int, now: float) -> Update:
    """One heartbeat (the `instances` map must exist: see `create_map`)."""
    return Update("SET #m.#i = :v", {"#m": INSTANCES, "#i": instance_id}, {":v": {"version": version, "at": now}})


def create_map() -> Update:
    """Makes the empty `instances` map when the item has none (DynamoDB cannot set a member of a missing map)."""
    return Update("SET #m = if_not_exists(#m, :empty)", {"#m": INSTANCES}, {":empty": {}})


def leave(*instance_ids: str) -> Update:
    names = {f"#i{n}": name for n, name in enumerate(instance_ids)}
    return Update("REMOVE " + ", ".join(f"#m.{p}" for p in names), {"#m": INSTANCES, **names})


class ServeHeartbeats:
    """The api's side: read the heartbeats, wait until the gateways route a version."""

    def __init__(self, table: str, *, stale_after: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.table = Table(table)
        self.stale_after = stale_after
        self.clock = clock

    def read(self) -> dict[str, Any] | None:
        return self.table.get({"modelId": HEARTBEATS_KEY}, consistent=True)

    def live(self) -> dict[str, int]:
        return live_instances(self.read(), self.clock(), self.stale_after)

    def wait_routed(self, version: int, timeout: float, *, poll: float = 0.05,
                    read: Callable[[], dict[str, Any] | None] | None = None) -> list[Laggard]:
        """[] once every live worker routes `version`; the workers still behind when `timeout` runs out."""
        read = read or self.read
        deadline = time.monotonic() + timeout
        delay = poll
        while True:
            behind = laggards(read(), version, self.clock(), self.stale_after)
            if not behind or time.monotonic() >= deadline:
                return behind
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, 0.5)

    def prune(self) -> None:
        """Forget workers gone for an hour (the item would otherwise grow with every serve task ever started)."""
        old = stale_entries(self.read(), self.clock())
        if old:
            change = leave(*old[:50])
            self.table.update_raw({"modelId": HEARTBEATS_KEY}, change.expression, names=change.names)
