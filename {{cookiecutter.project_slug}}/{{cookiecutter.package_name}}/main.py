"""The ASGI app: routers, the health probes, security headers, the request limits, error answers
and the API docs."""

import asyncio
import logging
import os

from FasterAPI import Faster, JSONResponse, Request

from . import client_address, logs, mail, metrics, tokens
from .backend import database
from .dependencies import EmailNotVerified
from .hashing import Overloaded
from .models import Health
from .openapi import DATABASE_DOWN, TOKEN_URL, add_openapi_routes, body
from .request_context import RequestContextMiddleware, request_id
from .request_limits import RequestLimits
from .routers import admin, audit_events, auth, items, recovery, signup, users, well_known
from .security_headers import SecurityHeaders
from .settings import settings
from .stores import StoreUnavailable
from .throttle import Throttled
from .token_errors import TokenError, token_error_response

logs.configure(settings.log_format)
logger = logging.getLogger(__name__)
# Login throttling counts by the socket peer unless it is in TRUSTED_PROXIES: keep uvicorn from
# replacing the peer with X-Forwarded-For before this app sees it, however it was started.
client_address.keep_socket_peer()
# Read the signing keys now: without a key to sign with, the service stops here with one line.
tokens.key_rings()

# The framework's own /openapi.json lacks the security scheme: openapi.py serves a complete one.
app = Faster(
    title={{ cookiecutter.project_name | tojson }},
    version="0.1.0",
    description={{ cookiecutter.description | tojson }},
    openapi_url=None,
    docs_url=None,
    redoc_url=None,
)
# Outermost first: the request id and the actor are known to every later layer and log line.
app.add_middleware(RequestContextMiddleware)
if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
    from . import tracing  # the optional `otel` dependencies: imported only when traces are wanted

    app.add_middleware(tracing.middleware())
if settings.metrics_enabled:
    app.add_middleware(metrics.RequestMetrics)
app.add_middleware(SecurityHeaders)
app.add_middleware(
    RequestLimits,
    max_body_bytes=settings.max_body_bytes,
    max_header_bytes=settings.max_header_bytes,
    max_headers=settings.max_headers,
    form_paths=[TOKEN_URL],  # the login form: every other body must be JSON
)
# Refuse to start on a database that is unreachable or whose schema is behind the code.
app.on_startup(database.check_schema)
# The mail sender (mail.py) delivers what requests put in the outbox.
app.on_startup(mail.start_sender)
app.on_shutdown(mail.stop_sender)
app.on_shutdown(metrics.leave_the_sums)
app.include_router(auth.router)
app.include_router(signup.router)
app.include_router(users.router)
app.include_router(admin.router)
app.include_router(items.router)
app.include_router(well_known.router)
app.include_router(recovery.router)
app.include_router(audit_events.router)
if settings.metrics_enabled:
    app.get("/metrics", include_in_schema=False)(metrics.metrics_answer)

HEALTHY = Health()


@app.get("/health", tags=["health"], responses={200: body(Health)})
async def health() -> Health:
    """For probes and load balancers: no auth, no I/O."""
    return HEALTHY


@app.get("/health/ready", tags=["health"], responses={200: body(Health), **DATABASE_DOWN})
async def ready() -> Health:
    """For load balancers and orchestrators: 200 only while the database answers."""
    await database.ping()
    return HEALTHY


def server_error(status: int, detail: str, headers: dict | None = None) -> JSONResponse:
    """A 5xx answer: its request id finds the request's log lines."""
    return JSONResponse({"detail": detail, "request_id": request_id()}, status, headers)


async def database_unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
    # Logged where it happened (database.py); the client may simply try again.
    metrics.refusals.labels("503", "database_unavailable").inc()
    return server_error(503, "The database is not available: try again shortly", {"Retry-After": "5"})


async def throttled(request: Request, exc: Throttled) -> JSONResponse:
    # Decided before any password check; held a moment so that refusals cannot become a flood
    # that takes the CPU from everyone else (the hashing threads run at a lower priority).
    metrics.refusals.labels("429", "throttled").inc()
    await asyncio.sleep(settings.login_refusal_delay_seconds)
    refusal = TokenError(429, "slow_down", exc.description, headers={"Retry-After": str(exc.retry_after)})
    return await token_error_response(request, refusal)


async def overloaded(request: Request, exc: Overloaded) -> JSONResponse:
    # A hashing thread frees within a fraction of a second: the client may try again soon.
    metrics.refusals.labels("503", "password_queue_full").inc()
    return server_error(503, "Too many logins at once: try again shortly", {"Retry-After": "1"})


async def email_not_verified(request: Request, exc: EmailNotVerified) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "error": "email_not_verified"}, 403)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The framework would answer 500 and drop the exception; log it so it can be fixed.
    logger.exception("Unhandled error on %s %s", request.method, request.path)
    return server_error(500, "Internal Server Error")


app.add_exception_handler(TokenError, token_error_response)
app.add_exception_handler(StoreUnavailable, database_unavailable)
app.add_exception_handler(Throttled, throttled)
app.add_exception_handler(Overloaded, overloaded)
app.add_exception_handler(EmailNotVerified, email_not_verified)
app.add_exception_handler(Exception, unexpected_error)
add_openapi_routes(app)
recovery.add_page_routes(app)
