"""Attaching a model's capacity provider to the shared GPU cluster, and detaching it.

ECS only offers "replace the cluster's whole capacity-provider list", so two model stacks editing it at once would
drop each other's entry (and real ECS answers UpdateInProgressException to the second). Every edit therefore
happens under a lease in the models table.
"""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from core import aws
from core.leases import Lease

_BUSY = {"UpdateInProgressException", "ResourceInUseException"}


def _lease(table: str, cluster: str) -> Lease:
    return Lease(table, f"cluster-capacity-providers/{cluster}", ttl=60, timeout=300)


def _current(cluster: str) -> tuple[list[str], list[dict]]:
    described = aws.client("ecs").describe_clusters(clusters=[cluster])["clusters"]
    if not described:
        raise LookupError(f"the GPU cluster {cluster} does not exist")
    return list(described[0].get("capacityProviders", [])), list(described[0].get("defaultCapacityProviderStrategy", []))


def _put(cluster: str, providers: list[str], strategy: list[dict], deadline: float) -> None:
    while True:
        try:
            aws.client("ecs").put_cluster_capacity_providers(
                cluster=cluster, capacityProviders=providers, defaultCapacityProviderStrategy=strategy,
            )
            return
        except ClientError as exc:
            if aws.error_code(exc) not in _BUSY or time.monotonic() > deadline:
                raise
            time.sleep(2)


def attach(table: str, cluster: str, provider: str, *, timeout: float = 300) -> None:
    with _lease(table, cluster):
        providers, strategy = _current(cluster)
        if provider not in providers:
            _put(cluster, providers + [provider], strategy, time.monotonic() + timeout)


def detach(table: str, cluster: str, provider: str, *, timeout: float = 300) -> None:
    with _lease(table, cluster):
        try:
            providers, strategy = _current(cluster)
        except LookupError:
            return
        if provider in providers:
            remaining = [p for p in providers if p != provider]
            kept = [s for s in strategy if s.get("capacityProvider") != provider]
            _put(cluster, remaining, kept, time.monotonic() + timeout)
