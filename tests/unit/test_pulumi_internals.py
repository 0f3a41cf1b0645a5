"""The engine's changes to Pulumi (services/api/engine/pulumi_internals.py): made for one SDK and one CLI version and
refused on others; nothing applied by importing the providers; the guarded serialize_provider survives thousands of
serializations in one process, as the api app makes them."""

from __future__ import annotations

import base64
import os
import pickle
import re
import stat
import subprocess
import sys
import threading
from pathlib import Path

import dill
import pytest
from pulumi.dynamic import dynamic

from providers.hosted_model import HostedModelProvider
from providers.litellm_registration import LiteLLMRegistrationProvider
from services.api.engine import pulumi_internals
from services.api.engine.pulumi_internals import CLI_VERSION, SDK_VERSION, PulumiVersionError, check_versions
from services.api.engine.stacks import ModelStacks

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def guarded() -> None:
    pulumi_internals.guard_serialize_provider()


# ---- versions
def test_the_patched_versions_are_the_pinned_ones():
    """Bumping a pin without re-checking the patches fails here first."""
    requirements = (REPO / "requirements.txt").read_text()
    assert re.search(rf"^pulumi=={re.escape(SDK_VERSION)}$", requirements, re.M)
    go_mod = (REPO / "tools/pulumi/go.mod").read_text()
    assert re.search(rf"github.com/pulumi/pulumi/pkg/v3 v{re.escape(CLI_VERSION)}\b", go_mod)


def test_the_installed_versions_pass():
    check_versions(f"v{CLI_VERSION}")


@pytest.mark.parametrize("cli, sdk, named", [("3.280.0", SDK_VERSION, "CLI is 3.280.0, expected"),
                                             (CLI_VERSION, "3.250.0", "Python SDK is 3.250.0, expected")])
def test_another_version_is_refused_naming_what_differs(cli, sdk, named):
    with pytest.raises(PulumiVersionError, match=named) as refused:
        check_versions(cli, sdk=sdk)
    assert "pulumi_internals.py" in str(refused.value)


def test_the_engine_does_not_start_on_another_cli(tmp_path: Path):
    """A CLI that reports another version (here a script) stops the engine before any stack is touched."""
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "pulumi"
    fake.write_text("#!/bin/sh\necho v3.999.0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(PulumiVersionError, match="CLI is 3.999.0"):
        ModelStacks(backend_url=f"file://{tmp_path / 'state'}", work_dir=tmp_path / "work", passphrase="p",
                    pulumi_root=tmp_path)


# ---- no import-time side effects
def test_importing_the_providers_patches_nothing():
    probe = """
import pickle, threading, grpc
from pulumi.dynamic import dynamic
from pulumi.runtime.proto import ResourceProviderServicer
before = (dynamic.serialize_provider, pickle.Pickler, pickle._Pickler._batch_setitems, pickle._Pickler.save_dict,
          grpc.server, ResourceProviderServicer.__dict__.get("Attach"), threading.active_count())
import providers, providers.hosted_model, providers.hosted_model_plan, providers.litellm_registration
import providers.cluster_capacity, providers.instance_types, providers.inputs, providers.provider_process
after = (dynamic.serialize_provider, pickle.Pickler, pickle._Pickler._batch_setitems, pickle._Pickler.save_dict,
         grpc.server, ResourceProviderServicer.__dict__.get("Attach"), threading.active_count())
assert before == after, [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
"""
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr


def test_a_provider_follows_its_parent_only_inside_a_provider_process():
    HostedModelProvider().configure(None)  # what the provider process calls after unpickling it
    assert not any(t.name == "follow-parent" for t in threading.enumerate())


# ---- serialization


class _ProviderWithState(LiteLLMRegistrationProvider):
    """A provider whose pickled form contains dicts (what makes the unguarded SDK recurse)."""

    def __init__(self) -> None:
        super().__init__()
        self.settings = {"b": 2, "a": {"nested": 1}}


def test_serializing_thousands_of_providers_leaves_no_recursion_behind():
    for _ in range(1_500):
        dynamic.serialize_provider(HostedModelProvider())
        dynamic.serialize_provider(LiteLLMRegistrationProvider())
    restored = dill.loads(base64.b64decode(dynamic.serialize_provider(_ProviderWithState())))
    assert restored.settings == {"b": 2, "a": {"nested": 1}}


def test_serializing_restores_the_pure_python_pickler():
    before = (pickle.Pickler, pickle._Pickler._batch_setitems, pickle._Pickler.save_dict)
    dynamic.serialize_provider(_ProviderWithState())
    assert (pickle.Pickler, pickle._Pickler._batch_setitems, pickle._Pickler.save_dict) == before


def test_serialization_is_deterministic():
    assert dynamic.serialize_provider(_ProviderWithState()) == dynamic.serialize_provider(_ProviderWithState())


def test_concurrent_serializations_all_succeed():
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(100):
                dynamic.serialize_provider(_ProviderWithState())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.fixture
def loopback_pair():
    """A connected TCP pair on 127.0.0.1 held by this process; yields the client's end as gRPC names a peer."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    host, port = client.getsockname()
    yield f"ipv4:{host}:{port}"
    for s in (client, server, listener):
        s.close()


def test_the_caller_check_admits_a_descendant_missed_by_one_table_read(loopback_pair, monkeypatch):
    from services.api.engine import pulumi_internals

    real, reads = pulumi_internals.socket_inode, []

    def flaky(peer):
        reads.append(peer)
        return None if len(reads) == 1 else real(peer)  # the first read of /proc/net/tcp skipped the line

    monkeypatch.setattr(pulumi_internals, "socket_inode", flaky)
    check = pulumi_internals.CallerCheck(api_pid=os.getppid(), host_pid=-1)  # this test process is its descendant
    assert check.admits(loopback_pair, pause=0)
    assert len(reads) == 2


def test_the_caller_check_still_refuses_a_process_outside_the_api(loopback_pair):
    from services.api.engine import pulumi_internals

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # an "api" that is not our ancestor
    try:
        check = pulumi_internals.CallerCheck(api_pid=other.pid, host_pid=-1)
        assert not check.admits(loopback_pair, attempts=3, pause=0)
    finally:
        other.kill()
        other.wait()
