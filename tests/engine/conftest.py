"""The admin API with its real deployment engine: the real Pulumi CLI and Automation API, the real dynamic-provider
host, against the emulator. One app per test session (in-process, TestClient); model stacks in a temp folder."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from fastapi.testclient import TestClient

from core.platform import PlatformOutputs
from tests.fixtures import processes
from tests.fixtures.eventually import eventually
from tests.fixtures.stage import TEST_MASTER_KEY

ADMIN = {"Authorization": f"Bearer {TEST_MASTER_KEY}"}
SETTLED = {"InService", "Stopped", "Failed"}


@contextmanager
def api_app(platform: PlatformOutputs, env: dict[str, str]) -> Iterator[TestClient]:
    from services.api.app import create_app
    from services.api.settings import ApiSettings

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = ApiSettings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    with TestClient(create_app(platform, settings), raise_server_exceptions=False) as client:
        yield client
        client.app.state.engine.wait_idle(60)


def own_platform(deployment_name: str) -> PlatformOutputs:
    """A stage of its own in the emulator (needs `moto_endpoint`): no other suite's engine sees its models."""
    from core.config import parse_stage_config
    from services.local.emulated_aws import provision
    from tests.fixtures.stage import stage_dict

    return provision(parse_stage_config(stage_dict(deploymentName=deployment_name)))


@pytest.fixture(scope="session")
def engine_state(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("engine")


@pytest.fixture(scope="session")
def api(platform, engine_state) -> Iterator[TestClient]:
    outputs, _ = platform
    # No resume here: other suites in the session leave their own test records in Creating.
    with api_app(outputs, processes.engine_env(engine_state, LISA_ENGINE_RESUME_ON_START="false")) as client:
        yield client


@pytest.fixture(scope="session")
def outputs(platform) -> PlatformOutputs:
    return platform[0]


def _last_seen(client, model_id: str, model: dict[str, Any], headers: dict[str, str]) -> str:
    """What a timed-out wait says: the model's status and reason as last seen, and the engine's last events."""
    try:
        events = client.get(f"/models/{model_id}/events", headers=headers).json().get("events", [])[-8:]
    except Exception as exc:  # noqa: BLE001 (a diagnostic must not hide the timeout)
        events = [repr(exc)]
    return (f"last seen: {model.get('status')}, {model.get('statusReason')}; last events: "
            f"{[_event_line(e) for e in events]}")


def _event_line(event: Any) -> str:
    if not isinstance(event, dict):
        return str(event)
    return event.get("message") or " ".join(str(event[k]) for k in ("type", "phase", "op", "resource") if k in event)


def wait_status(client, model_id: str, statuses: set[str] = SETTLED, *, timeout: float = 120,
                headers: dict[str, str] = ADMIN) -> dict[str, Any]:
    """Poll GET /models/{id} until its status is one of `statuses`; the model as last seen."""
    seen: dict[str, Any] = {}

    def settled() -> dict[str, Any] | None:
        response = client.get(f"/models/{model_id}", headers=headers)
        if response.status_code != 200:
            return None
        seen.clear()
        seen.update(response.json()["model"])
        return dict(seen) if seen["status"] in statuses else None

    return eventually(settled, timeout,
                      lambda: f"{model_id} reaching {statuses} ({_last_seen(client, model_id, seen, headers)})")


def wait_gone(client, model_id: str, *, timeout: float = 120, headers: dict[str, str] = ADMIN) -> None:
    seen: dict[str, Any] = {}

    def gone() -> bool:
        response = client.get(f"/models/{model_id}", headers=headers)
        if response.status_code == 200:
            seen.update(response.json()["model"])
        return response.status_code == 404

    eventually(gone, timeout, lambda: f"{model_id} deleted ({_last_seen(client, model_id, seen, headers)})")


@pytest.fixture(scope="session")
def gateway(platform, test_output) -> Iterator[str]:
    """The serve gateway (subprocess) on the emulated platform; its base URL."""
    outputs, _ = platform
    with processes.serve_app(outputs.model_dump_json(), log=test_output / "engine-gateway.log") as (base, _):
        yield base


def routable(gateway: str, model_id: str) -> bool:
    listed = requests.get(f"{gateway}/v1/models", headers=ADMIN, timeout=5).json()
    return any(m["id"] == model_id for m in listed.get("data", []))


def seconds_until(predicate, *, timeout: float) -> float:
    """How long until `predicate()` holds (AssertionError past `timeout`)."""
    start = time.monotonic()
    eventually(predicate, timeout, "the condition")
    return time.monotonic() - start
