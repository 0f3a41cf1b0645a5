"""What every api route shares in its OpenAPI contract: LISA's error body and the statuses a route can answer.

Every error the api answers is `{"error": "<Type>", "message": "..."}` (services/api/app.py maps them once), so the
OpenAPI documents that one shape for each status a route can return: `responses=errors(404, 409)` on a route adds
those to the statuses every route can answer (401, 403, 413, 422, 500). schemathesis checks the result.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error: str = Field(description="the error's type, e.g. ModelNotFoundError, ValidationError")
    message: str


_MEANING = {
    400: "Invalid input", 401: "Missing or invalid credentials", 403: "Not allowed for this caller",
    404: "Not found", 405: "Method not allowed", 409: "Conflicts with the resource's state",
    413: "Request body too large", 415: "Unsupported media type", 422: "A field breaks its rule",
    429: "Too many requests", 500: "Unexpected server error", 502: "An upstream failed", 503: "Unavailable",
    504: "An upstream timed out",
}
# Any route can answer these: credentials, the body-size limit, validation, and the catch-all.
COMMON = (400, 401, 403, 413, 422, 500)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: LISA's error body for the common statuses and the ones named."""
    return {status: {"model": ErrorBody, "description": _MEANING.get(status, "Error")}
            for status in sorted({*COMMON, *statuses})}


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI's `parameters` of a route that validates its query string with `model` itself, as one model: on a hot
    route FastAPI's per-parameter validation costs more than the work (`openapi_extra={"parameters": ...}`)."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    return [{"name": name, "in": "query", "required": name in required, "schema": field,
             **({"description": field["description"]} if "description" in field else {})}
            for name, field in schema["properties"].items()]
