"""Serve under test: the real gateway (uvicorn subprocess, free port) on the emulated platform, in front of the
stand-in upstream. Models are registered the way the lifecycle does it: a model record, then its Registration."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import pytest
import requests

from core import aws
from core.models import ModelRecord, ModelType
from core.platform import PlatformOutputs
from core.registry import ModelRegistry, Registration
from tests.fixtures import processes

GATEWAY_TIMEOUT_S = 2.0  # short, so the slow-upstream test sees a 504 quickly


@contextmanager
def run_gateway(platform: PlatformOutputs, log_path, **settings: str) -> Iterator[str]:
    """A gateway subprocess; yields its base URL (no path)."""
    port = processes.free_port()
    env = {
        "LISA_PLATFORM": platform.model_dump_json(),
        "LISA_SERVE_PORT": str(port),
        "LISA_SERVE_UPSTREAM_TIMEOUT_S": str(GATEWAY_TIMEOUT_S),
        "LISA_SERVE_LOG_LEVEL": "INFO",
        **{f"LISA_SERVE_{k.upper()}": v for k, v in settings.items()},
    }
    base = f"http://127.0.0.1:{port}"
    with processes.server([sys.executable, "-m", "services.serve"], f"{base}/health", env=env, log=log_path, timeout=60):
        yield base


@pytest.fixture(scope="session")
def registry(platform) -> ModelRegistry:
    outputs, _ = platform
    return ModelRegistry(outputs.tables.models)


@pytest.fixture(scope="session")
def register(registry: ModelRegistry) -> Callable[..., Registration]:
    """Publish a model the way the lifecycle does: its record, then its registration (bumps the version)."""

    def publish(model_id: str, upstream_model: str, api_base: str, *, model_type: ModelType = ModelType.TEXTGEN,
                streaming: bool = True, api_key_secret_id: str | None = None, provider: str = "openai",
                **params) -> Registration:
        record = ModelRecord(model_id=model_id, model_name=f"{provider}/{upstream_model}", model_url=api_base,
                             model_type=model_type, streaming=streaming and model_type is ModelType.TEXTGEN)
        try:
            registry.create(record)
        except Exception:  # noqa: BLE001 (already made by an earlier test)
            pass
        registration = Registration(
            model_name=model_id, model_type=model_type, streaming=record.streaming, api_key_secret_id=api_key_secret_id,
            litellm_params={"model": f"{provider}/{upstream_model}", "api_base": api_base, **params},
        )
        registry.set_registration(model_id, registration)
        return registration

    return publish


def wait_routable(base: str, model_id: str, credential: str, timeout: float = 5.0) -> float:
    """Seconds until the gateway lists `model_id`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        listed = requests.get(f"{base}/v1/models", headers={"Authorization": f"Bearer {credential}"}, timeout=5).json()
        if any(m["id"] == model_id for m in listed.get("data", [])):
            return time.monotonic() - start
        time.sleep(0.05)
    raise TimeoutError(f"{model_id} not routable after {timeout}s")


@pytest.fixture(scope="session")
def master_key() -> str:
    from tests.fixtures.stage import TEST_MASTER_KEY

    return TEST_MASTER_KEY


@pytest.fixture(scope="session")
def closed_port_url() -> str:
    return f"http://127.0.0.1:{processes.free_port()}/v1"  # nothing listens there


@pytest.fixture(scope="session")
def model_api_key(platform) -> tuple[str, str]:
    """(secret id, value) of an upstream API key kept in Secrets Manager."""
    value = "sk-upstream-secret-1234"
    arn = aws.client("secretsmanager").create_secret(Name="lisa-test/models/keyed/api-key", SecretString=value)["ARN"]
    return arn, value


@pytest.fixture(scope="session")
def models(register, stand_in_upstream: str, closed_port_url: str, model_api_key) -> dict[str, str]:
    """The models every serve test may use, by role → model id."""
    base = stand_in_upstream
    register("chat", "stand-in-chat", base)
    register("embed", "stand-in-embed", base, model_type=ModelType.EMBEDDING)
    register("down", "stand-in-chat", closed_port_url)
    register("slow", f"slow-{int(GATEWAY_TIMEOUT_S * 1000) + 1500}", base)
    register("garbage", "garbage", base)
    register("cut", "cut-stream", base)
    register("limited", "fault-429", base)
    register("unavailable", "fault-503", base)
    register("refuses-us", "fault-401", base)
    register("drip", "drip-200", base)
    register("keyed", "stand-in-chat", base, api_key_secret_id=model_api_key[0],
             extra_headers={"X-Lisa-Model": "keyed"})
    return {"chat": "chat", "embed": "embed"}


@pytest.fixture(scope="session")
def gateway(platform, models, master_key, test_output) -> Iterator[str]:
    """Base URL of the gateway on the emulated platform (Cognito auth), with the test models routable."""
    outputs, _ = platform
    with run_gateway(outputs, test_output / "serve-gateway.log") as base:
        wait_routable(base, "keyed", master_key)
        yield base


@pytest.fixture(scope="session")
def tokens(platform):
    from services.serve.tokens import TokenStore

    outputs, _ = platform
    return TokenStore(outputs.tables.tokens)


@pytest.fixture(scope="session")
def user_token(tokens) -> str:
    token, _ = tokens.issue(owner="user-1", username="alice", name="tests")
    return token


@pytest.fixture(scope="session")
def admin_token(tokens) -> str:
    token, _ = tokens.issue(owner="admin-1", username="root", is_admin=True, name="tests")
    return token
