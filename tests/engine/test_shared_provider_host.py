"""The api's model stacks share one warm dynamic-provider process: every CLI run attaches to it, and a dead one is
replaced at the next operation."""

from __future__ import annotations

import os
import signal

import psutil

from tests.engine.conftest import ADMIN, wait_gone, wait_status
from tests.fixtures.model_payloads import openai_compatible_model


def host_process(api) -> psutil.Process:
    host = api.app.state.engine.stacks.provider_host
    assert host is not None and host.pid is not None, "the shared provider host never started"
    return psutil.Process(host.pid)


def deploy_and_delete(api, model_id: str, upstream: str) -> dict:
    api.post("/models", headers=ADMIN, json=openai_compatible_model(model_id, upstream))
    settled = wait_status(api, model_id)
    api.delete(f"/models/{model_id}", headers=ADMIN)
    wait_gone(api, model_id)
    return settled


def provider_runs_started_by_the_cli() -> list[str]:
    """`python -m pulumi.dynamic` processes under this test process (what each CLI run would start without the host)."""
    return [" ".join(p.cmdline()) for p in psutil.Process().children(recursive=True)
            if "pulumi.dynamic" in " ".join(p.cmdline())]


def test_model_stacks_share_one_provider_process(api, stand_in_upstream):
    assert deploy_and_delete(api, "shared-host-a", stand_in_upstream)["status"] == "InService"
    first = host_process(api)
    assert deploy_and_delete(api, "shared-host-b", stand_in_upstream)["status"] == "InService"
    assert host_process(api).pid == first.pid and first.is_running()
    assert "providers.provider_host" in first.cmdline()
    assert provider_runs_started_by_the_cli() == []


def test_a_dead_provider_host_is_replaced_at_the_next_operation(api, stand_in_upstream):
    deploy_and_delete(api, "shared-host-c", stand_in_upstream)
    dead = host_process(api)
    os.kill(dead.pid, signal.SIGKILL)
    dead.wait(10)
    settled = deploy_and_delete(api, "shared-host-d", stand_in_upstream)
    assert settled["status"] == "InService", settled.get("statusReason")
    assert host_process(api).pid != dead.pid
