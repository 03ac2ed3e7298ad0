"""The ASGI app: routers, the health probes, security headers, the body limit, error answers and
the API docs."""

import asyncio
import logging

from FasterAPI import Faster, JSONResponse, Request

from . import client_address
from .backend import database
from .body_limit import BodySizeLimit
from .hashing import Overloaded
from .models import Health
from .openapi import DATABASE_DOWN, add_openapi_routes, body
from .routers import admin, auth, items, signup, users
from .security_headers import SecurityHeaders
from .settings import settings
from .stores import StoreUnavailable
from .throttle import Throttled
from .token_errors import TokenError, token_error_response

logger = logging.getLogger(__name__)
# Login throttling counts by the socket peer unless it is in TRUSTED_PROXIES: keep uvicorn from
# replacing the peer with X-Forwarded-For before this app sees it, however it was started.
client_address.keep_socket_peer()

# The framework's own /openapi.json lacks the security scheme: openapi.py serves a complete one.
app = Faster(
    title={{ cookiecutter.project_name | tojson }},
    version="0.1.0",
    description={{ cookiecutter.description | tojson }},
    openapi_url=None,
    docs_url=None,
    redoc_url=None,
)
app.add_middleware(SecurityHeaders)
app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
# Refuse to start on a database that is unreachable or whose schema is behind the code.
app.on_startup(database.check_schema)
app.include_router(auth.router)
app.include_router(signup.router)
app.include_router(users.router)
app.include_router(admin.router)
app.include_router(items.router)

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


async def database_unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
    # Logged where it happened (database.py); the client may simply try again.
    return JSONResponse({"detail": "The database is not available: try again shortly"}, 503, {"Retry-After": "5"})


async def throttled(request: Request, exc: Throttled) -> JSONResponse:
    # Decided before any password check; held a moment so that refusals cannot become a flood
    # that takes the CPU from everyone else (the hashing threads run at a lower priority).
    await asyncio.sleep(settings.login_refusal_delay_seconds)
    refusal = TokenError(429, "slow_down", exc.description, headers={"Retry-After": str(exc.retry_after)})
    return await token_error_response(request, refusal)


async def overloaded(request: Request, exc: Overloaded) -> JSONResponse:
    # A hashing thread frees within a fraction of a second: the client may try again soon.
    return JSONResponse({"detail": "Too many logins at once: try again shortly"}, 503, {"Retry-After": "1"})


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The framework would answer 500 and drop the exception; log it so it can be fixed.
    logger.exception("Unhandled error on %s %s", request.method, request.path)
    return JSONResponse({"detail": "Internal Server Error"}, status_code=500)


app.add_exception_handler(TokenError, token_error_response)
app.add_exception_handler(StoreUnavailable, database_unavailable)
app.add_exception_handler(Throttled, throttled)
app.add_exception_handler(Overloaded, overloaded)
app.add_exception_handler(Exception, unexpected_error)
add_openapi_routes(app)
