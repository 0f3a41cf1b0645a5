"""The api's Prometheus metrics: labelled by route template and status (never the path sent), admins only unless
LISA_METRICS_PUBLIC, and kept out of the OpenAPI document."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.unit.test_local_plan import platform


@pytest.fixture(scope="module")
def public() -> TestClient:
    return TestClient(create_app(platform(), ApiSettings(metrics_public=True, api_docs=True)))


def test_requests_are_counted_by_route_template_and_status(public):
    assert public.get("/metrics/usage").status_code == 401
    assert public.get("/api-tokens/some-token-id-4711").status_code == 401
    assert public.get("/no/such/path-4711").status_code == 404
    text = public.get("/metrics").text
    assert 'lisa_api_requests_total{method="GET",route="/metrics/usage",status="401"}' in text
    assert 'lisa_api_requests_total{method="GET",route="/api-tokens/{tokenUUID}",status="401"}' in text
    assert 'lisa_api_requests_total{method="GET",route="unmatched",status="404"}' in text
    assert "4711" not in text
    assert 'lisa_api_request_duration_seconds_bucket{le="0.005",method="GET",route="/metrics/usage"}' in text
    assert "lisa_api_requests_in_flight" in text and "lisa_serve_" not in text


def test_the_metrics_need_an_admin_unless_public(public):
    assert TestClient(create_app(platform(), ApiSettings())).get("/metrics").status_code == 401
    answer = public.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")


def test_prometheus_metrics_are_not_in_the_openapi_document_but_usage_and_audit_are(public):
    paths = public.get("/openapi.json").json()["paths"]
    assert "/metrics" not in paths and {"/metrics/usage", "/audit"} <= set(paths)
