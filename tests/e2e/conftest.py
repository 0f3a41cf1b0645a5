"""The browser tests' world: the real local stack and headless Chromium.

Once per test session: `python -m services.local` (what `make run` starts) in a temporary state folder on free ports,
with the stand-in upstream fixture registered as the user's OpenAI-compatible server (so its fault and `drip-<ms>`
models are real, routable models), plus a non-admin user in the emulator's Cognito pool; and one Chromium (Debian's
`/usr/bin/chromium`, never a downloaded browser) driven by Playwright. Each test gets a fresh browser context.
Screenshots of the main screens go to `<test output>/screenshots/`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

from tests.fixtures import processes

CHROMIUM = Path(os.environ.get("LISA_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this offline machine refuses.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
WEB = processes.REPO / "web"
# Upstream models the local stack registers from the stand-in: a slow streamer (Stop), a fast one, a failing one.
DRIP_MODEL = "drip-120"
FAST_MODEL = "stand-in-chat"
FAULT_MODEL = "fault-500"
STACK_READY_S = 240.0
DEFAULT_TIMEOUT_MS = 20_000



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
    admin: User
    user: User  # not in the admin group
    upstream: str  # the stand-in's base URL, ending in /v1
    state_dir: Path


def _dist_is_stale() -> bool:
    stamp = WEB / "dist" / "index.html"
    if not stamp.exists():
        return True
    built = stamp.stat().st_mtime
    sources = [WEB / "index.html", WEB / "package-lock.json", *(WEB / "src").rglob("*")]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


def _build_web(log: Path) -> None:
    """The tests drive the UI as built: build it when missing or older than its sources (as `make run` does)."""
    if not _dist_is_stale():
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
    """run.json appears when every part answers; then the UI's config must be served."""
    deadline = time.monotonic() + STACK_READY_S
    run_file = state / "run.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the local stack exited with {proc.returncode}:\n{_tail(log)}")
        if run_file.exists():
            try:
                run = json.loads(run_file.read_text())
            except ValueError:
                run = None
            if run:
                return run
        time.sleep(0.2)
    raise TimeoutError(f"the local stack was not ready after {STACK_READY_S:.0f}s:\n{_tail(log)}")


def _add_user(emulator: str, pool_id: str, user: User) -> None:
    # In a child process: core.aws reads the endpoint from the environment, which this session must not change.
    code = ("import sys; from services.local.emulated_aws import ensure_user; "
            "ensure_user(sys.argv[1], sys.argv[2], sys.argv[3])")
    env = {**os.environ, "LISA_AWS_ENDPOINT_URL": emulator, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "LISA_REGION": "us-east-1"}
    subprocess.run([sys.executable, "-c", code, pool_id, user.username, user.password], cwd=processes.REPO, env=env,
                   check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory, stand_in_upstream: str, test_output: Path) -> Iterator[LocalStack]:
    logs = test_output / "e2e"
    logs.mkdir(parents=True, exist_ok=True)
    _build_web(logs / "web-build.log")
    state = tmp_path_factory.mktemp("local-stack")
    ports = {name: str(processes.free_port()) for name in
             ("emulator", "pg", "embeddings", "serve", "api", "web")}
    env = {
        **os.environ,
        "LISA_UPSTREAM_URL": stand_in_upstream,
        "LISA_UPSTREAM_MODELS": ",".join([DRIP_MODEL, FAST_MODEL, FAULT_MODEL]),
        "PYTHONUNBUFFERED": "1",
    }
    for key in ("LISA_AWS_ENDPOINT_URL", "LISA_PLATFORM", "LISA_PLATFORM_FILE"):  # this session's, not the stack's
        env.pop(key, None)
    args = [sys.executable, "-m", "services.local", "--state-dir", str(state)]
    for name, port in ports.items():
        args += [f"--{name}-port", port]
    log = logs / "local-stack.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, cwd=processes.REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            run = _wait_ready(proc, state, log)
            secrets = json.loads((state / "secrets.json").read_text())
            web = run.get("web") or f"http://127.0.0.1:{ports['web']}"
            config = requests.get(f"{web}/config.json", timeout=10).json()
            emulator = config["auth"]["passwordLogin"]["cognitoEndpoint"]
            pool_id = config["auth"]["authority"].rstrip("/").rsplit("/", 1)[-1]
            user = User("e2e-user", "E2e-User-Passw0rd!")
            _add_user(emulator, pool_id, user)
            yield LocalStack(
                web=web.rstrip("/"),
                serve=config["serveUrl"].rstrip("/"),
                api=config["apiUrl"].rstrip("/"),
                emulator=emulator,
                admin=User(secrets["adminUsername"], secrets["adminPassword"]),
                user=user,
                upstream=stand_in_upstream,
                state_dir=state,
            )
        finally:
            processes.stop(proc, timeout=30)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (tools/bootstrap.sh browser does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh, empty user-data dir of its own.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots(test_output: Path) -> Callable:
    folder = test_output / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str, *, full_page: bool = False) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return shoot


@pytest.fixture
def new_page(browser, local_stack: LocalStack) -> Iterator[Callable]:
    """Opens pages in fresh browser contexts (no shared storage): `new_page(width=375)`."""
    contexts = []

    def open_page(*, width: int = 1280, height: int = 860, color_scheme: str = "light"):
        context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=color_scheme,
                                      accept_downloads=True)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page, stack: LocalStack, user: User, path: str = "/") -> None:
    page.goto(stack.web + path)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def id_token(page) -> str:
    """The ID token the signed-in page sends as its bearer credential."""
    return json.loads(page.evaluate("sessionStorage.getItem('lisa.auth.tokens')"))["idToken"]


def poll(check: Callable[[], object], *, timeout: float = 20.0, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not true after {timeout}s")
        time.sleep(interval)
