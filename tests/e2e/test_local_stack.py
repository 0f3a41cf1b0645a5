"""The local stack as a user runs it: `python -m services.local` (what `make run` starts) in a temp state folder on
free ports; OpenAI clients, the admin API and sessions against it; a clean stop; a restart that keeps everything.

Fixtures run in this order (each depends on the one before): first start → models and a session created through
the APIs → stop → second start on the same state folder → stop, the emulator's snapshot damaged → third start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from openai import OpenAI

from tests.fixtures import processes
from tests.fixtures.eventually import eventually
from tests.fixtures.model_payloads import ecs_model, openai_compatible_model

READY_S = 240.0
SETTLE_S = 240.0
CHAT_MODEL = "stand-in"
HOSTED_MODEL = "hosted-e2e"
SESSION_ID = "local-stack-session-1"


@dataclass
class Run:
    proc: subprocess.Popen
    state: Path
    info: dict[str, Any]
    log: Path

    @property
    def secrets(self) -> dict[str, Any]:
        return json.loads((self.state / "secrets.json").read_text())

    def openai(self) -> OpenAI:
        return OpenAI(base_url=self.info["serve"], api_key=self.secrets["apiToken"], max_retries=0, timeout=60)

    def admin_headers(self) -> dict[str, str]:
        """An ID token of the admin user, signed in as the web UI does (Cognito USER_PASSWORD_AUTH)."""
        config = requests.get(f"{self.info['web']}/config.json", timeout=10).json()
        secrets = self.secrets
        response = requests.post(
            config["auth"]["passwordLogin"]["cognitoEndpoint"] + "/",
            headers={"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
                     "Content-Type": "application/x-amz-json-1.1"},
            json={"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": config["auth"]["clientId"],
                  "AuthParameters": {"USERNAME": secrets["adminUsername"], "PASSWORD": secrets["adminPassword"]}},
            timeout=10,
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['AuthenticationResult']['IdToken']}"}


def _tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def start(state: Path, ports: dict[str, int], upstream: str, log: Path) -> Run:
    """The stack with the stand-in as the user's own OpenAI-compatible server (its models found by its /models)."""
    # LISA_AWS_ENDPOINT_URL and the platform variables are this test session's, not the stack's.
    env = {k: v for k, v in os.environ.items()
           if k not in ("LISA_AWS_ENDPOINT_URL", "LISA_PLATFORM", "LISA_PLATFORM_FILE")}
    env.update(PYTHONUNBUFFERED="1", LISA_UPSTREAM_URL=upstream, LISA_LOCAL_CHAT_MODEL="false")  # the stand-in chats
    env.pop("LISA_UPSTREAM_MODELS", None)
    args = [sys.executable, "-m", "services.local", "--state-dir", str(state)]
    for name, port in ports.items():
        args += [f"--{name}-port", str(port)]
    out = open(log, "ab")
    proc = subprocess.Popen(args, cwd=processes.REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    out.close()
    run_file = state / "run.json"

    def ready() -> Run | None:
        if proc.poll() is not None:
            raise RuntimeError(f"the local stack exited with {proc.returncode}:\n{_tail(log)}")
        return Run(proc, state, json.loads(run_file.read_text()), log) if run_file.exists() else None

    try:
        return eventually(ready, READY_S, lambda: f"the local stack ready:\n{_tail(log)}", ignore=(ValueError,))
    except RuntimeError as exc:
        raise AssertionError(str(exc)) from None
    except AssertionError:
        processes.stop(proc, timeout=30)
        raise


def stop(run: Run) -> int:
    """Ctrl-C as a user sends it (SIGINT to the stack's process); its exit code."""
    os.kill(run.proc.pid, signal.SIGINT)
    try:
        return run.proc.wait(60)
    except subprocess.TimeoutExpired:
        processes.stop(run.proc)
        raise AssertionError(f"the local stack did not stop within 60s:\n{_tail(run.log)}") from None


def processes_of(state: Path) -> list[str]:
    """Processes started for this state folder: its path in their command line or working directory."""
    found = []
    marker = str(state)
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            if marker in cmdline or (proc.info["cwd"] or "").startswith(marker):
                found.append(f"{proc.info['pid']}: {cmdline[:200]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def wait_status(run: Run, model_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """The model once settled, else as last seen after SETTLE_S (the tests assert on its status)."""
    def model() -> dict[str, Any]:
        return requests.get(f"{run.info['api']}/models/{model_id}", headers=headers, timeout=30).json()["model"]

    def settled() -> dict[str, Any] | None:
        seen = model()
        return seen if seen["status"] in ("InService", "Failed", "Stopped") else None

    try:
        return eventually(settled, SETTLE_S, f"{model_id} settled", ignore=())
    except AssertionError:
        return model()


def chat(run: Run, text: str) -> str:
    stream = run.openai().chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": text}], stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    names = ("emulator", "pg", "opensearch", "embeddings", "serve", "api", "web")
    return {name: processes.free_port() for name in names}


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-stack-state")


@pytest.fixture(scope="module")
def first_run(state: Path, ports: dict[str, int], stand_in_upstream: str, test_output: Path):
    run = start(state, ports, stand_in_upstream, test_output / "local-stack-first-run.log")
    yield run
    if run.proc.poll() is None:
        processes.stop(run.proc, timeout=60)


@pytest.fixture(scope="module")
def populated(first_run: Run, stand_in_upstream: str) -> dict[str, dict[str, Any]]:
    """A chat model on the stand-in upstream and an ECS-hosted model, both created through the admin API, and a
    session saved through the api; each model's record once it settled."""
    headers = first_run.admin_headers()
    api = first_run.info["api"]
    for payload in (openai_compatible_model(CHAT_MODEL, stand_in_upstream), ecs_model(modelId=HOSTED_MODEL)):
        response = requests.post(f"{api}/models", json=payload, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
    session = {"name": "kept across restarts", "model": CHAT_MODEL,
               "messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "Echo: hello"}]}
    response = requests.put(f"{api}/session/{SESSION_ID}", json=session, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return {model_id: wait_status(first_run, model_id, headers) for model_id in (CHAT_MODEL, HOSTED_MODEL)}


@pytest.fixture(scope="module")
def stopped(first_run: Run, populated) -> dict[str, Any]:
    pids = list(first_run.info["children"].values())
    token = first_run.secrets["apiToken"]
    code = stop(first_run)
    try:  # the kernel reaps process groups asynchronously
        eventually(lambda: not processes_of(first_run.state), 10, "the stack's processes gone", ignore=())
    except AssertionError:
        pass  # the tests assert on who is left
    left = processes_of(first_run.state)
    return {"code": code, "left": left, "token": token, "pids_alive": [p for p in pids if psutil.pid_exists(p)],
            "run_file": (first_run.state / "run.json").exists()}


@pytest.fixture(scope="module")
def second_run(stopped, state: Path, ports: dict[str, int], stand_in_upstream: str, test_output: Path):
    run = start(state, ports, stand_in_upstream, test_output / "local-stack-second-run.log")
    yield run
    if run.proc.poll() is None:
        stop(run)


# ---- first start
def test_openai_client_lists_the_local_embedding_model(first_run: Run):
    ids = [m.id for m in first_run.openai().models.list()]
    assert "all-minilm-l6-v2" in ids


def test_the_opensearch_node_answers_with_the_knn_plugin(first_run: Run):
    node = first_run.info["opensearch"]
    assert requests.get(f"{node}/_cluster/health", timeout=10).json()["status"] in ("green", "yellow")
    plugins = requests.get(f"{node}/_cat/plugins?h=component", timeout=10).text.split()
    assert "org.opensearch.knn.plugin.KNNPlugin" in plugins


def test_upstream_models_are_registered_at_start(first_run: Run):
    ids = [m.id for m in first_run.openai().models.list()]
    assert "stand-in-chat" in ids and "stand-in-embed" in ids


def test_local_embedding_model_embeds_through_serve(first_run: Run):
    result = first_run.openai().embeddings.create(model="all-minilm-l6-v2", input=["a local stack"])
    assert len(result.data[0].embedding) == 384


def test_model_registered_through_admin_api_is_listed_and_streams(first_run: Run, populated):
    assert populated[CHAT_MODEL]["status"] == "InService", populated[CHAT_MODEL]
    assert CHAT_MODEL in [m.id for m in first_run.openai().models.list()]
    assert chat(first_run, "hello local stack") == "Echo: hello local stack"


def test_ecs_hosted_model_reaches_in_service(populated):
    assert populated[HOSTED_MODEL]["status"] == "InService", populated[HOSTED_MODEL]


# ---- stop
def test_ctrl_c_exits_cleanly(stopped):
    assert stopped["code"] == 0


def test_stop_leaves_no_process_behind(stopped):
    assert stopped["left"] == [] and stopped["pids_alive"] == []


def test_stop_removes_the_ready_file(stopped):
    assert stopped["run_file"] is False


# ---- restart on the same state folder
def test_restart_keeps_models(second_run: Run):
    headers = second_run.admin_headers()
    models = requests.get(f"{second_run.info['api']}/models", headers=headers, timeout=30).json()["models"]
    statuses = {m["modelId"]: m["status"] for m in models}
    assert statuses.get(CHAT_MODEL) == "InService" and statuses.get(HOSTED_MODEL) == "InService", statuses


def test_restart_keeps_sessions(second_run: Run):
    response = requests.get(f"{second_run.info['api']}/session/{SESSION_ID}", headers=second_run.admin_headers(),
                            timeout=30)
    assert response.status_code == 200, response.text
    assert [m["content"] for m in response.json()["history"]] == ["hello", "Echo: hello"]


def test_restarted_stack_routes_the_registered_model(second_run: Run):
    assert chat(second_run, "after restart") == "Echo: after restart"


def test_restart_keeps_the_api_token(stopped, second_run: Run):
    assert second_run.secrets["apiToken"] == stopped["token"]
    assert CHAT_MODEL in [m.id for m in second_run.openai().models.list()]


# ---- a third start after the emulator's saved state was lost (here: made unreadable)
@pytest.fixture(scope="module")
def run_after_lost_snapshot(second_run: Run, state: Path, ports: dict[str, int], stand_in_upstream: str,
                            test_output: Path):
    assert stop(second_run) == 0
    (state / "emulator" / "snapshot.pickle").write_bytes(b"damaged")
    run = start(state, ports, stand_in_upstream, test_output / "local-stack-third-run.log")
    yield run
    if run.proc.poll() is None:
        stop(run)


def test_lost_emulator_state_sets_the_model_stacks_aside(run_after_lost_snapshot: Run, state: Path):
    assert list(state.glob("pulumi.lost-*/.pulumi/stacks/*/*.json"))
    assert "saved state could not be read" in run_after_lost_snapshot.log.read_text()


def test_a_model_created_again_after_lost_state_is_routable(run_after_lost_snapshot: Run, stand_in_upstream: str):
    headers = run_after_lost_snapshot.admin_headers()
    response = requests.post(f"{run_after_lost_snapshot.info['api']}/models", headers=headers, timeout=30,
                             json=openai_compatible_model(CHAT_MODEL, stand_in_upstream))
    assert response.status_code == 200, response.text
    assert wait_status(run_after_lost_snapshot, CHAT_MODEL, headers)["status"] == "InService"
    assert chat(run_after_lost_snapshot, "again") == "Echo: again"
