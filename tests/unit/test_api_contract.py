"""The api's shared contract pieces: error responses for OpenAPI and per-route body limits."""

from __future__ import annotations

from services.api.body_limit import BodyLimits
from services.api.contract import ErrorBody, errors


def test_every_route_documents_the_common_statuses_with_lisas_error_body():
    responses = errors(404, 409)
    assert {400, 401, 403, 404, 409, 413, 422, 500} == set(responses)
    assert all(r["model"] is ErrorBody for r in responses.values())


def test_body_limits_first_matching_rule_wins():
    limits = BodyLimits(default=10, rules=(("PUT", r"/session/[^/]+", 100), ("*", r"/upload/.*", 1000)))
    assert limits.for_request("PUT", "/session/abc") == 100
    assert limits.for_request("PUT", "/session/abc/name") == 10
    assert limits.for_request("POST", "/upload/x/y") == 1000
    assert limits.for_request("POST", "/other") == 10


def test_a_method_a_route_does_not_have_answers_405_with_allow_and_lisas_error_body():
    from fastapi.testclient import TestClient

    from tools.wire_schemas import api_document_app

    response = TestClient(api_document_app()).request("TRACE", "/api-tokens")
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert response.json() == {"error": "MethodNotAllowedError", "message": "Method Not Allowed"}


def test_allow_names_a_concrete_paths_methods_not_a_templates_it_also_matches():
    # /repository/status also matches /repository/{repositoryId}; OpenAPI (and the contract) take the concrete path.
    from fastapi.testclient import TestClient

    from tools.wire_schemas import api_document_app

    response = TestClient(api_document_app()).request("OPTIONS", "/repository/status")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    response = TestClient(api_document_app()).request("OPTIONS", "/repository/some-repository")
    assert {"GET", "PUT", "DELETE"} <= set(response.headers["allow"].replace(" ", "").split(","))
    # /repository/{repositoryId}/bulk (one parameter) before /repository/{repositoryId}/{documentId} (two)
    response = TestClient(api_document_app()).request("OPTIONS", "/repository/some-repository/bulk")
    assert response.headers["allow"] == "POST"
