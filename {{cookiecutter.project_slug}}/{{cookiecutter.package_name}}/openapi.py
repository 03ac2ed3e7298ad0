"""What the framework's OpenAPI generator leaves out: the OAuth2 scheme behind the docs'
Authorize button (with its scopes), form bodies and error answers. Routes describe themselves
with these helpers; a protected route's security and 401/403 answers follow from its one
declaration, `Depends(require_scopes(...))` (see document_protection).
"""

import inspect

import msgspec
from FasterAPI import Depends, Faster, Response
from FasterAPI.openapi.generator import generate_openapi

from .backend import database
from .dependencies import FORM_TYPES
from .docs import add_docs_routes
from .models import ErrorDetail, TokenErrorBody, TokenValidationErrorBody, ValidationErrorBody
from .scopes import SCOPES

SCHEME = "OAuth2PasswordBearer"
TOKEN_URL = "/auth/token"


def body(model: object, description: str = "Successful Response") -> dict:
    return {"model": model, "description": description}


def error(description: str) -> dict:
    return body(ErrorDetail, description)


def token_error(description: str) -> dict:
    return body(TokenErrorBody, description)


INVALID_FORM = body(
    TokenValidationErrorBody, "A form field is missing, empty, too long or unreadable (error: invalid_request)"
)
INVALID_BODY = body(ValidationErrorBody, "A field is missing, of the wrong type or breaks a rule: msg names it")
TOO_LARGE = error("The request body is larger than MAX_BODY_BYTES")
BAD_ORIGIN = error("The Origin header names a site that is not allowed")
# Every route that reads the stores may answer 503, unless they live in memory (database=fake).
UNAVAILABLE = error("The database is not available: retry after Retry-After")
DATABASE_DOWN = {503: UNAVAILABLE} if database.CAN_BE_UNAVAILABLE else {}
# The answers of every route behind require_scopes (RFC 6750 3.1).
BEARER_ERRORS = {
    401: error('No token (WWW-Authenticate: Bearer), or a bad, expired or revoked one (Bearer error="invalid_token")'),
    403: error('The token lacks a scope the route needs (Bearer error="insufficient_scope", scope="...")'),
    **DATABASE_DOWN,
}
THROTTLED = body(TokenErrorBody, "Too many failed logins, or attempts at once: retry after Retry-After")
# Logins also get 503 when too many password checks wait already (security.CheckQueue).
OVERLOADED = error(
    "Too many logins are waiting for a password check"
    + (", or the database is not available" if database.CAN_BE_UNAVAILABLE else "")
    + ": retry after Retry-After"
)


def form_body(model: type[msgspec.Struct]) -> dict:
    (_,), components = msgspec.json.schema_components([model])
    schema = components[model.__name__]
    content = {media_type: {"schema": schema} for media_type in FORM_TYPES}
    return {"requestBody": {"required": True, "content": content}}


def required_scopes(handler) -> tuple[str, ...] | None:
    """The scopes of the handler's require_scopes dependency (dependencies.py); None: not protected."""
    for parameter in inspect.signature(handler).parameters.values():
        if isinstance(parameter.default, Depends) and hasattr(parameter.default.dependency, "scopes"):
            return parameter.default.dependency.scopes
    return None


def document_protection(app: Faster) -> None:
    """Each protected route gets the security requirement that makes the docs send the token, and
    the 401/403 answers of RFC 6750 (its own `responses` win where they say more)."""
    for route in app.routes:
        scopes = required_scopes(route["handler"])
        if scopes is not None:
            route["responses"] = {**BEARER_ERRORS, **(route["responses"] or {})}
            route["openapi_extra"] = {"security": [{SCHEME: list(scopes)}], **(route["openapi_extra"] or {})}


def add_openapi_routes(app: Faster) -> None:
    """Serve /openapi.json and /docs. Call it last: the document covers the routes added before."""
    document_protection(app)
    spec = generate_openapi(app, title=app.title, version=app.version, description=app.description)
    for route in app.routes:
        # The generator adds a 422 to every operation with a parameter; a route that can answer
        # one declares it (a path parameter alone never gets one).
        if 422 not in (route["responses"] or {}):
            spec["paths"][route["path"]][route["method"].lower()]["responses"].pop("422", None)
    spec.setdefault("components", {})["securitySchemes"] = {
        SCHEME: {"type": "oauth2", "flows": {"password": {"tokenUrl": TOKEN_URL, "scopes": SCOPES}}}
    }
    document = msgspec.json.encode(spec)

    @app.get("/openapi.json", tags=["openapi"])
    async def openapi_document() -> Response:
        return Response(document, media_type="application/json")

    add_docs_routes(app)
