"""What the framework's OpenAPI generator leaves out: the OAuth2 scheme behind the docs'
Authorize button (with its scopes), form bodies and error answers. Routes describe themselves
with these helpers.
"""

import msgspec
from FasterAPI import Faster, Response
from FasterAPI.openapi.generator import generate_openapi

from .database import CAN_BE_UNAVAILABLE
from .dependencies import FORM_TYPES
from .docs import add_docs_routes
from .models import ErrorDetail, TokenErrorBody, TokenValidationErrorBody, ValidationErrorBody
from .scopes import SCOPES

SCHEME = "OAuth2PasswordBearer"
TOKEN_URL = "/auth/token"


def requires(*scopes: str) -> dict:
    """openapi_extra of a route behind require_scopes(*scopes): the docs send the token with it."""
    return {"security": [{SCHEME: list(scopes)}]}


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
# request_limits.py refuses a body of any other type on every route but the login form's.
NOT_JSON = error("The request has a body whose Content-Type is not application/json")
BAD_ORIGIN = error("The Origin header names a site that is not allowed")
# Every route that reads the stores may answer 503, unless they live in memory (database=fake).
DATABASE_DOWN = {503: error("The database is not available: retry after Retry-After")} if CAN_BE_UNAVAILABLE else {}
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
    + (", or the database is not available" if CAN_BE_UNAVAILABLE else "")
    + ": retry after Retry-After"
)


def form_body(model: type[msgspec.Struct]) -> dict:
    (_,), components = msgspec.json.schema_components([model])
    schema = components[model.__name__]
    content = {media_type: {"schema": schema} for media_type in FORM_TYPES}
    return {"requestBody": {"required": True, "content": content}}


def add_openapi_routes(app: Faster) -> None:
    """Serve /openapi.json and /docs. Call it last: the document covers the routes added before."""
    spec = generate_openapi(app, title=app.title, version=app.version, description=app.description)
    spec.setdefault("components", {})["securitySchemes"] = {
        SCHEME: {"type": "oauth2", "flows": {"password": {"tokenUrl": TOKEN_URL, "scopes": SCOPES}}}
    }
    document = msgspec.json.encode(spec)

    @app.get("/openapi.json", tags=["openapi"])
    async def openapi_document() -> Response:
        return Response(document, media_type="application/json")

    add_docs_routes(app)
