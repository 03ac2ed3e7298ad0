"""Prometheus metrics, served at GET /metrics when METRICS_ENABLED=true, to the addresses of
METRICS_ALLOWED_ADDRESSES only (loopback by default: the socket peer, never X-Forwarded-For).

Several worker processes (`uvicorn --workers N`, gunicorn) each count their own requests: set
PROMETHEUS_MULTIPROC_DIR to an empty folder writable by them all, and prometheus-client's
multiprocess mode adds them up, whichever worker answers the scrape. The counters of rare events
are updated whether or not /metrics is on (about a microsecond each); what would be counted on
every request (`RequestMetrics`, the user cache's lookups) only while it is on.
"""

import ipaddress
import os
import time

from FasterAPI import Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from .settings import SettingsError, settings

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

requests = Counter(
    "http_requests_total", "Requests answered, by route template, method and status", ["route", "method", "status"]
)
latency = Histogram(
    "http_request_duration_seconds",
    "Time from a request's arrival to its answer's start, by route template",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
logins = Counter("logins_total", "Password logins, by outcome (succeeded, failed, throttled)", ["outcome"])
audit_events = Counter("audit_events_total", "Audit events recorded, by event and outcome", ["event", "outcome"])
refusals = Counter("http_refusals_total", "429 and 503 answers, by reason", ["status", "reason"])
reuse_detections = Counter("refresh_reuse_detections_total", "Refresh tokens presented again: login revoked")
# livesum: across processes, the total of the live workers' values.
password_checks_pending = Gauge(
    "password_checks_pending", "Password hashes and checks running or waiting for a thread", multiprocess_mode="livesum"
)
password_checks_limit = Gauge(
    "password_checks_limit", "Password checks that may run or wait at once (more get 503)", multiprocess_mode="livesum"
)


def parse_allowed(value: str) -> tuple:
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip())
    except ValueError as exc:
        raise SettingsError(f"Invalid setting METRICS_ALLOWED_ADDRESSES: {exc}") from None


ALLOWED = parse_allowed(settings.metrics_allowed_addresses)


def route_of(scope: dict) -> str:
    """The route template (/users/{username}), so that labels stay few; `unmatched` for 404s the
    router gave (every made-up path would be a new series otherwise)."""
    params = scope.get("path_params")
    if params is None:
        return "unmatched"
    path = scope["path"]
    if not params:
        return path
    names = {value: name for name, value in params.items()}
    return "/".join("{" + names[part] + "}" if part in names else part for part in path.split("/"))


# The children of each (route, method, status) seen: labels() costs a lock and a lookup per call.
# Few keys: route templates, not paths.
SERIES: dict[tuple, tuple] = {}


class RequestMetrics:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        def send_and_note(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            key = (route_of(scope), scope["method"], status)
            series = SERIES.get(key) or SERIES.setdefault(key, (latency.labels(key[0]), requests.labels(*key)))
            series[0].observe(time.perf_counter() - start)
            series[1].inc()


async def leave_the_sums() -> None:
    """At a worker's shutdown: its live gauges (password checks pending, their limit) stop counting
    in the multiprocess sums, so a worker that is restarted is not counted twice. Its counters stay."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())


def allowed(request: Request) -> bool:
    peer = request.client[0] if request.client else ""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in ALLOWED)


def exposition() -> bytes:
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


async def metrics_answer(request: Request) -> Response:
    if not allowed(request):
        return Response(b'{"detail":"Not Found"}', status_code=404, media_type="application/json")
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
