"""CORS for the web UI: the configured origin may call serve from a browser; others get no CORS headers."""

from __future__ import annotations

import requests

from tests.integration.serve.conftest import UI_ORIGIN


def test_preflight_from_the_ui_origin_is_allowed(oidc_gateway):
    response = requests.options(f"{oidc_gateway}/v2/serve/chat/completions", timeout=5, headers={
        "Origin": UI_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == UI_ORIGIN
    assert "authorization" in response.headers["access-control-allow-headers"]


def test_preflight_from_another_origin_is_refused(oidc_gateway):
    response = requests.options(f"{oidc_gateway}/v2/serve/models", timeout=5, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "GET"})
    assert response.status_code == 403 and "access-control-allow-origin" not in response.headers


def test_responses_to_the_ui_origin_carry_the_header_even_on_errors(oidc_gateway):
    response = requests.get(f"{oidc_gateway}/v2/serve/models", headers={"Origin": UI_ORIGIN}, timeout=5)
    assert response.status_code == 401 and response.headers["access-control-allow-origin"] == UI_ORIGIN
