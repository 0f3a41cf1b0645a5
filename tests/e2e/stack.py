"""Starting the real local stack for the browser tests, as a user would (`python -m services.local`, what `make run`
starts), in a fresh state folder on free ports, and the test data it needs: the stand-in upstream's models registered
through the admin API, and a user who is not an admin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import requests

from tests.fixtures import processes
from tests.fixtures.eventually import eventually

WEB = processes.REPO / "web"
# The stand-in upstream's models (tests/fixtures/upstream.py), registered as LiteLLM-only models: a slow streamer
# (for Stop), a fast one, one whose upstream always fails, and one that calls tools.
DRIP_MODEL = "drip-120"
FAST_MODEL = "stand-in-chat"
FAULT_MODEL = "fault-500"
TOOL_MODEL = "tool-call"  # asks for the tools the user names, then answers with their results
READY_S = 240.0
MODEL_READY_S = 120.0


@dataclass(frozen=True)
class User:
    username: str
    password: str


@dataclass(frozen=True)
class LocalStack:
    web: str
    serve: str  # ends in /v2/serve
    api: str
    emulator: str
    client_id: str
    admin: User
    user: User  # not in the admin group
    upstream: str  # the stand-in's base URL, ending in /v1
    state_dir: Path


def dist_is_stale() -> bool:
    index = WEB / "dist" / "index.html"
    if not index.exists():
        return True
    built = index.stat().st_mtime
    sources = [WEB / "index.html", WEB / "package-lock.json", *(WEB / "src").rglob("*")]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


def build_web(log: Path) -> None:
    """The tests drive the UI as built: build it when missing or older than its sources (as `make run` does)."""
    if not dist_is_stale():
        return
    with open(log, "ab") as out:
        if not (WEB / "node_modules").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, stdout=out, stderr=subprocess.STDOUT, check=True)
        subprocess.run(["npm", "run", "build"], cwd=WEB, stdout=out, stderr=subprocess.STDOUT, check=True)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_ready(proc: subprocess.Popen, state: Path, log: Path) -> dict:
    """The stack writes run.json once every part answers."""
    def ready() -> dict:
        if proc.poll() is not None:
            raise RuntimeError(f"the local stack exited with {proc.returncode}:\n{_tail(log)}")
        return json.loads((state / "run.json").read_text())

    return eventually(ready, READY_S, lambda: f"the local stack ready:\n{_tail(log)}", ignore=(OSError, ValueError))


def cognito_id_token(emulator: str, client_id: str, user: User) -> str:
    """Signs in as the UI does (Cognito InitiateAuth against the emulator) and returns the ID token."""
    response = requests.post(
        emulator + "/",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
        data=json.dumps({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id,
                         "AuthParameters": {"USERNAME": user.username, "PASSWORD": user.password}}),
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["AuthenticationResult"]["IdToken"]


def add_user(emulator: str, pool_id: str, user: User, groups: tuple[str, ...] = ()) -> None:
    # In a child process: core.aws takes the endpoint from the environment, which this test session must not change.
    code = ("import sys; from services.local.emulated_aws import ensure_user; "
            "ensure_user(*sys.argv[1:4], groups=sys.argv[4:])")
    env = {**os.environ, "LISA_AWS_ENDPOINT_URL": emulator, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "LISA_REGION": "us-east-1"}
    subprocess.run([sys.executable, "-c", code, pool_id, user.username, user.password, *groups], cwd=processes.REPO, env=env,
                   check=True, capture_output=True, timeout=60)


def add_plain_user(stack: LocalStack, username: str) -> User:
    """A user of their own (not an admin) for tests whose changes (delete every session, pin, folders) must not
    reach the sessions of the shared e2e user; adding one that exists already is a no-op."""
    config = requests.get(f"{stack.web}/config.json", timeout=10).json()
    user = User(username, "E2e-Own-Passw0rd!")
    add_user(stack.emulator, config["auth"]["authority"].rstrip("/").rsplit("/", 1)[-1], user)
    return user


def register_upstream_models(api: str, bearer: str, upstream: str, names: list[str]) -> None:
    """Registers each stand-in model through the admin API, as an admin would, and waits for InService."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {bearer}"

    def register(name: str) -> None:
        payload = {"modelId": name, "modelName": f"openai/{name}", "modelType": "textgen", "streaming": True,
                   "modelUrl": upstream}
        response = session.post(f"{api}/models", json=payload, timeout=30)
        assert response.status_code in (200, 201), f"POST /models {name}: {response.status_code} {response.text}"
        def settled() -> str | None:
            status = session.get(f"{api}/models/{name}", timeout=30).json()["model"]["status"]
            return status if status in ("InService", "Failed") else None

        status = eventually(settled, MODEL_READY_S, f"model {name} settled", ignore=())
        assert status == "InService", f"model {name} ended {status}"

    # One request first: the api fetches the IdP's signing keys on the first JWT it sees.
    response = session.get(f"{api}/models", timeout=30)
    assert response.status_code == 200, f"GET /models as admin: {response.status_code} {response.text}"
    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(register, names))


@contextmanager
def running_local_stack(upstream: str, output: Path) -> Iterator[LocalStack]:
    output.mkdir(parents=True, exist_ok=True)
    build_web(output / "web-build.log")
    # Not under the system temp dir: the embedded PostgreSQL runs as an unprivileged user who must reach the folder.
    state = Path(tempfile.mkdtemp(prefix="state-", dir=output))
    state.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("LISA_AWS_ENDPOINT_URL", "LISA_PLATFORM", "LISA_PLATFORM_FILE")}
    args = [sys.executable, "-m", "services.local", "--state-dir", str(state)]
    for name in ("emulator", "pg", "opensearch", "embeddings", "serve", "api", "web"):
        args += [f"--{name}-port", str(processes.free_port())]
    log = output / "local-stack.log"
    # The stand-in's models are enough here: the bundled chat model (slow to load and to answer) stays off.
    env.update(PYTHONUNBUFFERED="1", LISA_LOCAL_CHAT_MODEL="false")
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, cwd=processes.REPO, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            run = _wait_ready(proc, state, log)
            config = requests.get(f"{run['web']}/config.json", timeout=10).json()
            secrets = json.loads((state / "secrets.json").read_text())
            emulator = config["auth"]["passwordLogin"]["cognitoEndpoint"]
            stack = LocalStack(
                web=run["web"].rstrip("/"),
                serve=config["serveUrl"].rstrip("/"),
                api=config["apiUrl"].rstrip("/"),
                emulator=emulator,
                client_id=config["auth"]["clientId"],
                admin=User(secrets["adminUsername"], secrets["adminPassword"]),
                user=User("e2e-user", "E2e-User-Passw0rd!"),
                upstream=upstream,
                state_dir=state,
            )
            add_user(emulator, config["auth"]["authority"].rstrip("/").rsplit("/", 1)[-1], stack.user)
            admin_token = cognito_id_token(emulator, stack.client_id, stack.admin)
            register_upstream_models(stack.api, admin_token, upstream, [DRIP_MODEL, FAST_MODEL, FAULT_MODEL, TOOL_MODEL])
            yield stack
        finally:
            processes.stop(proc, timeout=30)
            shutil.copytree(state / "logs", output / "local-stack-logs", dirs_exist_ok=True)
            shutil.rmtree(state, ignore_errors=True)


def stack_to_json(stack: LocalStack) -> str:
    data = {**stack.__dict__, "admin": stack.admin.__dict__, "user": stack.user.__dict__, "state_dir": str(stack.state_dir)}
    return json.dumps(data, indent=2)


def stack_from_json(text: str) -> LocalStack:
    data = json.loads(text)
    return LocalStack(**{**data, "admin": User(**data["admin"]), "user": User(**data["user"]), "state_dir": Path(data["state_dir"])})


def main() -> None:
    """Keeps a stack running for repeated runs while working on the UI or its tests:

        python -m tests.e2e.stack test-output/e2e-dev/stack.json        (Ctrl-C stops it)
        LISA_E2E_STACK_FILE=test-output/e2e-dev/stack.json pytest tests/e2e -k chat
    """
    import signal

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "test-output/e2e-dev/stack.json").resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with processes.stand_in_upstream(log=target.parent / "stand-in-upstream.log") as upstream:
        with running_local_stack(upstream, target.parent) as stack:
            target.write_text(stack_to_json(stack))
            print(f"ready: {target}", flush=True)
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
            finally:
                target.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
