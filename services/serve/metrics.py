"""Serve's Prometheus metrics: requests and latency by route and status, upstream errors, rate-limit refusals,
refused credentials, the registry version routed, streams open now.

Exposed at `/metrics`: to admins (any admin credential), or to anyone when `LISA_SERVE_METRICS_PUBLIC` is true (for a
scraper inside the VPC; keep the path off the public ALB then). With several uvicorn workers, set
`PROMETHEUS_MULTIPROC_DIR` (`python -m services.serve` does): every worker's figures are then summed.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

REQUESTS = Counter("lisa_serve_requests_total", "Requests answered", ["route", "status"])
LATENCY = Histogram("lisa_serve_request_duration_seconds", "Time to the whole answer (streams: to their end)",
                    ["route"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
TTFT = Histogram("lisa_serve_time_to_first_token_seconds", "Streams: time to the first chunk", ["route"],
                 buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
UPSTREAM_ERRORS = Counter("lisa_serve_upstream_errors_total", "Upstream failures by model and status", ["model", "status"])
RATE_LIMITED = Counter("lisa_serve_rate_limited_total", "Requests refused by a rate limit", ["scope"])
AUTH_REFUSED = Counter("lisa_serve_auth_refused_total", "Requests refused for their credentials", ["status"])
REGISTRY_VERSION = Gauge("lisa_serve_registry_version", "The model registry version routed", multiprocess_mode="max")
ACTIVE_STREAMS = Gauge("lisa_serve_active_streams", "Streams open now", multiprocess_mode="livesum")

CONTENT_TYPE = CONTENT_TYPE_LATEST.encode()


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
