"""M8: the shared cluster's capacity-provider list is edited under a lease that outlives ECS's "busy" answers (it is
renewed while the edit waits), and an edit whose lease was lost stops before it could overwrite the new holder's
list. ECS's UpdateInProgressException comes from the fault proxy in front of the emulator."""

from __future__ import annotations

import threading
import time

import pytest

from core import aws
from core.dynamo import Table
from core.leases import Lease, LeaseLost, LeaseTimeout
from providers import cluster_capacity
from tests.fixtures.eventually import eventually

CLUSTER = "m8-cluster"
LEASE_KEY = {"modelId": f"#lease/cluster-capacity-providers/{CLUSTER}"}
BUSY = {"status": 400, "code": "UpdateInProgressException"}


@pytest.fixture
def cluster(platform, faulty_aws):
    aws.client("ecs").create_cluster(clusterName=CLUSTER)
    aws.client("ecs").put_cluster_capacity_providers(cluster=CLUSTER, capacityProviders=["someone-elses"],
                                                     defaultCapacityProviderStrategy=[])
    yield platform[0].tables.models
    Table(platform[0].tables.models).delete(LEASE_KEY)


def providers_of() -> list[str]:
    return aws.client("ecs").describe_clusters(clusters=[CLUSTER])["clusters"][0]["capacityProviders"]


def test_the_lease_is_renewed_while_ecs_answers_busy_for_longer_than_its_ttl(cluster, faulty_aws):
    busy = faulty_aws.refuse("PutClusterCapacityProviders", body_contains="m8-renewed", times=5, **BUSY)
    worker = threading.Thread(target=cluster_capacity.attach, args=(cluster, CLUSTER, "m8-renewed"),
                              kwargs={"lease_ttl": 1.0, "pause": 0.5, "timeout": 30})
    worker.start()
    # Past the ttl and still busy: a second editor must not get in.
    eventually(lambda: busy.refused >= 4, 30, "ECS answering busy for longer than the lease's ttl")
    with pytest.raises(LeaseTimeout):
        Lease(cluster, f"cluster-capacity-providers/{CLUSTER}", ttl=30, timeout=0.2).acquire()
    worker.join(30)
    assert providers_of() == ["someone-elses", "m8-renewed"]


def test_an_edit_whose_lease_was_taken_over_stops_without_writing(cluster, faulty_aws):
    busy = faulty_aws.refuse("PutClusterCapacityProviders", body_contains="m8-lost", times=1000, **BUSY)
    outcome: list[BaseException] = []

    def attach() -> None:
        try:
            cluster_capacity.attach(cluster, CLUSTER, "m8-lost", lease_ttl=1.0, pause=0.2, timeout=30)
        except BaseException as exc:  # noqa: BLE001 (the test looks at it)
            outcome.append(exc)

    worker = threading.Thread(target=attach)
    worker.start()
    eventually(lambda: busy.refused >= 1, 30, "the first busy answer")
    # Another editor takes the lease over (as after an expiry) and changes the list meanwhile.
    Table(cluster).put({**LEASE_KEY, "owner": "another-editor", "expires": time.time() + 60})
    aws.client("ecs").put_cluster_capacity_providers(cluster=CLUSTER, capacityProviders=["someone-elses", "newer"],
                                                     defaultCapacityProviderStrategy=[])
    worker.join(3.0)  # a renewal (every ttl/3) finds the lease gone well within this
    busy.times = busy.refused  # ECS would accept the edit now: it must not come, it would drop "newer"
    worker.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], LeaseLost), outcome
    assert providers_of() == ["someone-elses", "newer"]
