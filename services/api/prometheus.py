"""The api's Prometheus metrics: requests and their latency by method, route template and status, requests in flight.

Labels name the route's template (`/models/{model_id}`), never the path a caller sent, so the series stay few;
anything no route matched is `unmatched`. `GET /metrics` answers admins, or anyone when `LISA_METRICS_PUBLIC` is
true (a scraper inside the VPC; keep the path off the public ALB then). It is left out of the OpenAPI document:
it answers Prometheus' text format, not JSON. The api runs one worker, so one process holds all the figures.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import PermissionDeniedError
from services.identity.dependencies import require_user

# The api's own registry: serve's metrics never show here, even where one process imports both (the tests).
REGISTRY = CollectorRegistry()
REQUESTS = Counter("lisa_api_requests_total", "Requests answered", ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("lisa_api_request_duration_seconds", "Time to the whole answer (streams: to their end)",
                    ["method", "route"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
IN_FLIGHT = Gauge("lisa_api_requests_in_flight", "Requests being answered now", registry=REGISTRY)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

router = APIRouter()


class MetricsMiddleware:
    """Counts every HTTP request once its answer is sent (Starlette's router leaves the matched route in the scope)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before it starts its answer

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, sending)
        finally:
            IN_FLIGHT.dec()
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - started)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    if not request.app.state.settings.metrics_public:
        principal = await require_user(request)
        if not principal.is_admin:
            raise PermissionDeniedError("the metrics are for admins")
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
