"""Serve's Prometheus metrics: requests and latency by route and status, time to first token, upstream errors,
rate-limit refusals, refused credentials, the registry version routed, streams open now.

The request path only adds to plain ints and lists (prometheus_client's own metric objects take a lock and build a
label key on every update, which costs serve about 4 % of its CPU per request); a collector turns them into
Prometheus' families when `/metrics` is read. Exposed at `/metrics` to admins (any admin credential), or to anyone
when `LISA_SERVE_METRICS_PUBLIC` is true (for a scraper inside the VPC; keep the path off the public ALB then).
The figures are one process's: serve runs one worker per task, and each task is a scrape target.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from typing import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

CONTENT_TYPE = CONTENT_TYPE_LATEST.encode()
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Histogram:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one: above every bound
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def buckets(self) -> list[tuple[str, int]]:
        cumulative, out = 0, []
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts):
            cumulative += count
            out.append((bound, cumulative))
        return out


class ServeMetrics:
    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.latency: dict[str, Histogram] = {}
        self.ttft: dict[str, Histogram] = {}
        self.upstream_errors: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.rate_limited: defaultdict[str, int] = defaultdict(int)
        self.auth_refused: defaultdict[int, int] = defaultdict(int)
        self.active_streams = 0
        self.registry_version = 0
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def observe_latency(self, route: str, seconds: float) -> None:
        histogram = self.latency.get(route)
        if histogram is None:
            histogram = self.latency[route] = Histogram(LATENCY_BUCKETS)
        histogram.observe(seconds)

    def observe_ttft(self, route: str, seconds: float) -> None:
        histogram = self.ttft.get(route)
        if histogram is None:
            histogram = self.ttft[route] = Histogram(TTFT_BUCKETS)
        histogram.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    # the collector prometheus_client calls at scrape time
    def collect(self) -> Iterator:
        requests = CounterMetricFamily("lisa_serve_requests", "Requests answered", labels=["route", "status"])
        for (route, status), count in sorted(self.requests.items()):
            requests.add_metric([route, str(status)], count)
        yield requests
        for name, doc, histograms in (
            ("lisa_serve_request_duration_seconds", "Time to the whole answer (streams: to their end)", self.latency),
            ("lisa_serve_time_to_first_token_seconds", "Streams: time to the first chunk", self.ttft),
        ):
            family = HistogramMetricFamily(name, doc, labels=["route"])
            for route, histogram in sorted(histograms.items()):
                family.add_metric([route], histogram.buckets(), histogram.sum)
            yield family
        errors = CounterMetricFamily("lisa_serve_upstream_errors", "Upstream failures by model and status",
                                     labels=["model", "status"])
        for (model, status), count in sorted(self.upstream_errors.items()):
            errors.add_metric([model, str(status)], count)
        yield errors
        limited = CounterMetricFamily("lisa_serve_rate_limited", "Requests refused by a rate limit", labels=["scope"])
        for scope, count in sorted(self.rate_limited.items()):
            limited.add_metric([scope], count)
        yield limited
        refused = CounterMetricFamily("lisa_serve_auth_refused", "Requests refused for their credentials",
                                      labels=["status"])
        for status, count in sorted(self.auth_refused.items()):
            refused.add_metric([str(status)], count)
        yield refused
        yield GaugeMetricFamily("lisa_serve_registry_version", "The model registry version routed",
                                value=self.registry_version)
        yield GaugeMetricFamily("lisa_serve_active_streams", "Streams open now", value=self.active_streams)
