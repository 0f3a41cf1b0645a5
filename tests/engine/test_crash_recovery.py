"""Kill the api process (and everything it started) in the middle of a create; start it again; the model converges.

The first api process waits for real readiness (`healthy`), which never comes in the emulator, so the kill lands
while the HostedModel create is running with most of its parts made and the stack locked with a pending
operation. The second process (readiness `deployed`) resumes the model at start, frees the stale lock and runs the
update again; the provider adopts what the first attempt made. This suite uses its own stage in the emulator so
that no other suite's records are resumed.
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from typing import Iterator

import psutil
import pytest
import requests

from core import aws
from tests.engine.conftest import ADMIN, own_platform
from tests.fixtures import processes
from tests.fixtures.eventually import eventually
from tests.fixtures.model_inventory import model_inventory
from tests.fixtures.model_payloads import ecs_model

MODEL = "crash-model"


@pytest.fixture(scope="module")
def crash_platform(moto_endpoint):
    return own_platform("crash")


@contextmanager
def api_process(platform, state, log, **settings: str) -> Iterator[tuple[str, object]]:
    # A short job lease: the restarted process takes the killed one's model over once it runs out.
    env = {"LISA_PLATFORM": platform.model_dump_json(),
           **processes.engine_env(state, LISA_ENGINE_LEASE_TTL_S="5", **settings)}
    with processes.api_app(env, log=log) as (base, proc):
        yield base, proc


def get_model(base: str) -> dict:
    return requests.get(f"{base}/models/{MODEL}", headers=ADMIN, timeout=10).json()["model"]


def policy_exists(platform) -> bool:
    """The scaling policy is the last part the create makes before it waits for readiness."""
    resource = f"service/{platform.model_hosting.cluster_name}/crash-test-{MODEL}"
    return bool(aws.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"])


@pytest.fixture(scope="module", params=["shared-provider-host", "provider-per-run"])
def crashed_and_restarted(request, crash_platform, tmp_path_factory, test_output):
    state = tmp_path_factory.mktemp("crash")
    shared = str(request.param == "shared-provider-host").lower()
    with api_process(crash_platform, state, test_output / f"crash-api-1-{request.param}.log",
                     LISA_MODEL_READINESS="healthy", LISA_MODEL_READY_TIMEOUT_S="600",
                     LISA_ENGINE_SHARED_PROVIDER_HOST=shared) as (base, proc):
        assert requests.post(f"{base}/models", headers=ADMIN, json=ecs_model(modelId=MODEL), timeout=10).status_code == 200
        eventually(lambda: policy_exists(crash_platform), 120, "the create never got to its readiness wait")
        tree = [proc.pid] + [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        # The provider process: the api's shared host, or (with that off) the one the CLI started.
        providers_running = any(name in " ".join(_cmdline(pid)) for pid in tree
                                for name in ("serve_shared_host", "pulumi.dynamic"))
        # The api's group: the api, the CLI and the shared provider host (a provider the CLI starts has its own).
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    left_behind = survivors(tree)
    status_after_kill = None
    with api_process(crash_platform, state, test_output / f"crash-api-2-{request.param}.log",
                     LISA_ENGINE_SHARED_PROVIDER_HOST=shared) as (base, _):
        status_after_kill = get_model(base)["status"]
        eventually(lambda: get_model(base)["status"] in {"InService", "Failed"}, 120, "the model never settled")
        settled = get_model(base)
        inventory = model_inventory(crash_platform, MODEL)
        requests.delete(f"{base}/models/{MODEL}", headers=ADMIN, timeout=10)
        eventually(lambda: requests.get(f"{base}/models/{MODEL}", headers=ADMIN, timeout=10).status_code == 404, 120,
                   "the model was never deleted")
    return {"providers_running": providers_running, "left_behind": left_behind, "status_after_kill": status_after_kill, "settled": settled,
            "inventory": inventory, "after_delete": model_inventory(crash_platform, MODEL)}


def _cmdline(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def survivors(pids: list[int], timeout: float = 10.0) -> list[str]:
    """Which of `pids` still run (not zombies) after `timeout`: the orphaned provider must end on its own."""
    def alive() -> list[str]:
        running = []
        for pid in pids:
            try:
                process = psutil.Process(pid)
                if process.status() != psutil.STATUS_ZOMBIE:
                    running.append(f"{pid} {' '.join(process.cmdline())[:120]}")
            except psutil.Error:
                continue
        return running

    try:
        eventually(lambda: not alive(), timeout, "the orphaned processes ended")
    except AssertionError:
        pass  # the caller asserts on who is left
    return alive()


def test_the_kill_lands_while_the_provider_is_working(crashed_and_restarted):
    assert crashed_and_restarted["providers_running"]


def test_the_kill_leaves_no_process_behind(crashed_and_restarted):
    assert crashed_and_restarted["left_behind"] == []


def test_the_killed_create_is_still_creating(crashed_and_restarted):
    assert crashed_and_restarted["status_after_kill"] == "Creating"


def test_the_restarted_api_converges_the_model_to_in_service(crashed_and_restarted):
    settled = crashed_and_restarted["settled"]
    assert settled["status"] == "InService", settled.get("statusReason")


def test_the_converged_model_has_exactly_one_of_each_part(crashed_and_restarted):
    assert {k: len(v) for k, v in crashed_and_restarted["inventory"].items()} == {
        "launchTemplates": 1, "autoScalingGroups": 1, "capacityProviders": 1, "clusterCapacityProviders": 1,
        "taskDefinitions": 1, "targetGroups": 1, "listenerRules": 1, "services": 1, "scalableTargets": 1,
        "scalingPolicies": 1, "logGroups": 1, "registration": 1}


def test_deleting_the_converged_model_leaves_nothing(crashed_and_restarted):
    assert crashed_and_restarted["after_delete"] == {}
