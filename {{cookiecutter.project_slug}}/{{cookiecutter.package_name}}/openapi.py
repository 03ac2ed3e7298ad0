"""What the framework's OpenAPI generator leaves out: the OAuth2 scheme behind the docs'
Authorize button, form bodies and error answers. Routes describe themselves with these helpers.
"""

import msgspec
from FasterAPI import Faster, HTMLResponse, Response
from FasterAPI.openapi.generator import generate_openapi
from FasterAPI.openapi.ui import swagger_ui_html

from .database import CAN_BE_UNAVAILABLE
from .dependencies import FORM_TYPES
from .models import ErrorDetail, OAuthErrorBody, ValidationErrorBody

SCHEME = "OAuth2PasswordBearer"
TOKEN_URL = "/auth/token"
requires_bearer = {"security": [{SCHEME: []}]}


def body(model: object, description: str = "Successful Response") -> dict:
    return {"model": model, "description": description}


def error(description: str) -> dict:
    return body(ErrorDetail, description)


INVALID_FORM = body(ValidationErrorBody, "A form field is missing, empty, too long or unreadable")
TOO_LARGE = error("The request body is larger than MAX_BODY_BYTES")
BAD_ORIGIN = error("The Origin header names a site that is not allowed")
# Every route that reads the stores may answer 503, unless they live in memory (database=fake).
DATABASE_DOWN = {503: error("The database is not available: retry after Retry-After")} if CAN_BE_UNAVAILABLE else {}
THROTTLED = body(OAuthErrorBody, "Too many failed logins, or attempts at once: retry after Retry-After")
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
        SCHEME: {"type": "oauth2", "flows": {"password": {"tokenUrl": TOKEN_URL, "scopes": {}}}}
    }
    document = msgspec.json.encode(spec)
    docs_page = swagger_ui_html("/openapi.json", title=f"{app.title} - Swagger UI")

    @app.get("/openapi.json", tags=["openapi"])
    async def openapi_document() -> Response:
        return Response(document, media_type="application/json")

    @app.get("/docs", tags=["openapi"])
    async def docs() -> HTMLResponse:
        return HTMLResponse(docs_page)
