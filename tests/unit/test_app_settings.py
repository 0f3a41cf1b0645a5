"""What the two apps' entry points take from their settings: keep-alive above the ALB's idle timeout (else the ALB
reuses a connection the app is closing and answers 502), and the api's docs only where enabled."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from components.app_containers import ALB_IDLE_TIMEOUT_S, app_environment
from core.platform import PlatformOutputs
from services.api import __main__ as api_main
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.serve import __main__ as serve_main
from tests.unit.test_local_plan import platform


def uvicorn_options(main, monkeypatch) -> dict:
    seen: dict = {}
    monkeypatch.setattr(main.uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    main.main()
    return seen


@pytest.mark.parametrize("main, app", [(serve_main, "serve"), (api_main, "api")])
def test_in_aws_each_app_keeps_connections_open_longer_than_the_alb(main, app, monkeypatch):
    env = app_environment(app=app, region="us-east-1", log_level="INFO", platform_json="{}", web_url=None)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert uvicorn_options(main, monkeypatch)["timeout_keep_alive"] > ALB_IDLE_TIMEOUT_S


@pytest.mark.parametrize("main", [serve_main, api_main])
def test_by_default_each_app_keeps_connections_open_longer_than_the_alb(main, monkeypatch):
    assert uvicorn_options(main, monkeypatch)["timeout_keep_alive"] > ALB_IDLE_TIMEOUT_S


@pytest.fixture
def any_platform() -> PlatformOutputs:
    return platform()


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_the_api_publishes_no_docs_unless_enabled(path, any_platform):
    assert TestClient(create_app(any_platform, ApiSettings())).get(path).status_code == 404
    assert TestClient(create_app(any_platform, ApiSettings(api_docs=True))).get(path).status_code == 200


def test_the_core_stacks_api_task_turns_the_docs_off(monkeypatch):
    env = app_environment(app="api", region="us-east-1", log_level="INFO", platform_json="{}", web_url=None)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert ApiSettings().api_docs is False
