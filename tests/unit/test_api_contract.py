"""The api's shared contract pieces: error responses for OpenAPI and per-route body limits."""

from __future__ import annotations

from typing import Literal

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


def test_a_route_that_validates_its_query_itself_documents_each_parameter_with_its_rule():
    from fastapi import FastAPI
    from pydantic import BaseModel, Field

    from services.api.contract import query_parameters

    class Query(BaseModel):
        name: str | None = Field(default=None, max_length=8, description="who")
        kind: Literal["a", "b"]

    app = FastAPI()

    @app.get("/thing/{thingId}", openapi_extra={"parameters": query_parameters(Query)})
    async def thing(thingId: str) -> None: ...

    parameters = {p["name"]: p for p in app.openapi()["paths"]["/thing/{thingId}"]["get"]["parameters"]}
    assert set(parameters) == {"thingId", "name", "kind"} and parameters["thingId"]["in"] == "path"
    assert (parameters["name"]["in"], parameters["name"]["required"], parameters["name"]["description"]) == (
        "query", False, "who")
    assert parameters["name"]["schema"]["anyOf"][0]["maxLength"] == 8
    assert parameters["kind"]["required"] is True and parameters["kind"]["schema"]["enum"] == ["a", "b"]
