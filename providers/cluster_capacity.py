"""Attaching a model's capacity provider to the shared GPU cluster, and detaching it.

ECS only offers "replace the cluster's whole capacity-provider list", so two model stacks editing it at once would
drop each other's entry (and real ECS answers UpdateInProgressException to the second). Every edit therefore
happens under a lease in the models table. ECS may answer "busy" for minutes (the retries below run up to
`timeout`), far longer than the lease's ttl: the lease is renewed while the edit waits, and the edit stops
(LeaseLost) as soon as a renewal finds it gone, before it could drop the entry of whoever holds it now.
"""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from core import aws
from core.leases import Lease

_BUSY = {"UpdateInProgressException", "ResourceInUseException"}
LEASE_TTL_S = 60.0
BUSY_PAUSE_S = 2.0


def _lease(table: str, cluster: str, ttl: float) -> Lease:
    return Lease(table, f"cluster-capacity-providers/{cluster}", ttl=ttl, timeout=300)


def _current(cluster: str) -> tuple[list[str], list[dict]]:
    described = aws.client("ecs").describe_clusters(clusters=[cluster])["clusters"]
    if not described:
        raise LookupError(f"the GPU cluster {cluster} does not exist")
    return list(described[0].get("capacityProviders", [])), list(described[0].get("defaultCapacityProviderStrategy", []))


def _put(lease: Lease, cluster: str, providers: list[str], strategy: list[dict], deadline: float,
         pause: float) -> None:
    while True:
        lease.check()  # the list we read is only ours to write while the lease is
        try:
            aws.client("ecs").put_cluster_capacity_providers(
                cluster=cluster, capacityProviders=providers, defaultCapacityProviderStrategy=strategy,
            )
            return
        except ClientError as exc:
            if aws.error_code(exc) not in _BUSY or time.monotonic() > deadline:
                raise
            time.sleep(pause)


def attach(table: str, cluster: str, provider: str, *, timeout: float = 300, lease_ttl: float = LEASE_TTL_S,
           pause: float = BUSY_PAUSE_S) -> None:
    with _lease(table, cluster, lease_ttl) as lease:
        providers, strategy = _current(cluster)
        if provider not in providers:
            _put(lease, cluster, providers + [provider], strategy, time.monotonic() + timeout, pause)


def detach(table: str, cluster: str, provider: str, *, timeout: float = 300, lease_ttl: float = LEASE_TTL_S,
           pause: float = BUSY_PAUSE_S) -> None:
    with _lease(table, cluster, lease_ttl) as lease:
        try:
            providers, strategy = _current(cluster)
        except LookupError:
            return
        if provider in providers:
            remaining = [p for p in providers if p != provider]
            kept = [s for s in strategy if s.get("capacityProvider") != provider]
            _put(lease, cluster, remaining, kept, time.monotonic() + timeout, pause)
