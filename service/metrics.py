"""Prometheus metrics: request counts and latencies per route, predictions per field.

Each app has its own registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.tagging import Tags

_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The service's counters and histograms, in one registry."""

    def __init__(self) -> None:
        disable_created_metrics()  # process-wide: drop the *_created series nobody reads
        self.registry = CollectorRegistry()
        self.requests = Counter("sangkien_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("sangkien_http_request_duration_seconds", "request latency",
                                 ["method", "route"], buckets=_BUCKETS, registry=self.registry)
        self.predictions = Counter("sangkien_field_predictions", "predicted labels per field",
                                   ["field"], registry=self.registry)
        self.review = Counter("sangkien_needs_review", "predictions sent to review, by reason",
                              ["reason"], registry=self.registry)
        self.stored = Counter("sangkien_initiatives_stored", "records stored by intake",
                              registry=self.registry)
        self.duplicates = Counter("sangkien_duplicates_flagged", "stored records judged duplicates",
                                  registry=self.registry)

    def observe_tags(self, tags: list[Tags]) -> None:
        for t in tags:
            for code in t.labels:
                self.predictions.labels(code).inc()
            if t.needs_review:
                self.review.labels(t.review_reason or "unknown").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI: counts every HTTP request by its route template and final status."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status[0])).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - start)
