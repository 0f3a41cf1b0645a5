"""The api's model stacks share one warm dynamic-provider process: the CLI attaches to it instead of starting a
provider of its own, and a dead one is replaced at the next operation."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import grpc
import psutil
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2_grpc

from services.local.plan import pulumi_root
from tests.engine.conftest import ADMIN, api_app, wait_gone, wait_status
from tests.fixtures import processes
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


@pytest.fixture
def cli_without_a_provider_to_start(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A Pulumi root whose `pulumi-resource-pulumi-python` only leaves a mark and fails: a CLI run that starts its
    own provider fails, one that attaches to the shared host never runs it. Returns (root, mark)."""
    real = pulumi_root()
    root, mark = tmp_path / "pulumi", tmp_path / "provider-started-by-the-cli"
    (root / "bin").mkdir(parents=True)
    # The CLI looks for its plugins beside its own (resolved) executable: a hard link, not a symlink.
    os.link(real / "bin/pulumi", root / "bin/pulumi")
    script = root / "bin/pulumi-resource-pulumi-python"
    script.write_text(f"#!/bin/sh\ntouch '{mark}'\necho 'not this provider' >&2\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != (real / "bin").resolve()]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    return root, mark


@pytest.mark.parametrize("shared", [True, False], ids=["shared-host", "provider-per-run"])
def test_the_cli_attaches_to_the_shared_host_instead_of_starting_a_provider(
        shared, outputs, stand_in_upstream, cli_without_a_provider_to_start, tmp_path):
    root, mark = cli_without_a_provider_to_start
    env = processes.engine_env(tmp_path / "state", LISA_PULUMI_ROOT=str(root), LISA_ENGINE_RESUME_ON_START="false",
                               LISA_ENGINE_SHARED_PROVIDER_HOST=str(shared).lower())
    with api_app(outputs, env) as api:
        model_id = f"attach-{'shared' if shared else 'per-run'}"
        api.post("/models", headers=ADMIN, json=openai_compatible_model(model_id, stand_in_upstream))
        settled = wait_status(api, model_id)
        api.delete(f"/models/{model_id}", headers=ADMIN)
        wait_gone(api, model_id)
    if shared:
        assert settled["status"] == "InService", settled.get("statusReason")
        assert not mark.exists()
    else:  # the same set-up without the host: the CLI starts the failing provider (so the test can tell them apart)
        assert settled["status"] == "Failed" and mark.exists()


def test_one_host_serves_every_operation(api, stand_in_upstream):
    assert deploy_and_delete(api, "shared-host-a", stand_in_upstream)["status"] == "InService"
    first = host_process(api)
    assert deploy_and_delete(api, "shared-host-b", stand_in_upstream)["status"] == "InService"
    assert host_process(api).pid == first.pid and "serve_shared_host" in " ".join(first.cmdline())


def test_a_dead_provider_host_is_replaced_at_the_next_operation(api, stand_in_upstream):
    deploy_and_delete(api, "shared-host-c", stand_in_upstream)
    dead = host_process(api)
    os.kill(dead.pid, signal.SIGKILL)
    dead.wait(10)
    settled = deploy_and_delete(api, "shared-host-d", stand_in_upstream)
    assert settled["status"] == "InService", settled.get("statusReason")
    assert host_process(api).pid != dead.pid


def _plugin_info(port: int) -> grpc.StatusCode:
    """One call to the host as any local process could make it; its status."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            provider_pb2_grpc.ResourceProviderStub(channel).GetPluginInfo(empty_pb2.Empty(), timeout=10)
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def test_a_caller_the_api_did_not_start_is_refused_while_the_cli_still_works(api, stand_in_upstream):
    deploy_and_delete(api, "shared-host-e", stand_in_upstream)
    port = api.app.state.engine.stacks.provider_host.port
    assert _plugin_info(port) == grpc.StatusCode.PERMISSION_DENIED  # this test process is not a CLI the api started
    assert deploy_and_delete(api, "shared-host-f", stand_in_upstream)["status"] == "InService"
