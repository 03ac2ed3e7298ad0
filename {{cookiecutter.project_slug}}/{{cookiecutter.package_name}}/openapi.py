"""What the framework's OpenAPI generator leaves out: the OAuth2 scheme behind the docs'
Authorize button (with its scopes), form bodies, error answers, and the constraints of the
Structs (it drops msgspec.Meta and forbid_unknown_fields: the document gets msgspec's own schema
of each Struct instead). Routes describe themselves with these helpers; a protected route's
security and 401/403 answers follow from its one declaration, `Depends(require_scopes(...))`
(see document_protection).
"""

import inspect

import msgspec
from FasterAPI import Depends, Faster, HTTPException, Request, Response
from FasterAPI.openapi.generator import generate_openapi

from . import models
from .backend import database
from .dependencies import FORM_TYPES
from .docs import add_docs_routes
from .models import (
    EmailNotVerifiedBody,
    ErrorDetail,
    ServerError,
    TokenErrorBody,
    TokenValidationErrorBody,
    ValidationErrorBody,
)
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
# request_limits.py refuses a body of any other type on every route but the login form's.
NOT_JSON = error("The request has a body whose Content-Type is not application/json")
BAD_ORIGIN = error("The Origin header names a site that is not allowed")
# Every route that reads the stores may answer 503, unless they live in memory (database=fake).
DATABASE_DOWN = (
    {503: body(ServerError, "The database is not available: retry after Retry-After")}
    if database.CAN_BE_UNAVAILABLE
    else {}
)
# The answers of every route behind require_scopes (RFC 6750 3.1).
BEARER_ERRORS = {
    401: error('No token (WWW-Authenticate: Bearer), or a bad, expired or revoked one (Bearer error="invalid_token")'),
    403: error('The token lacks a scope the route needs (Bearer error="insufficient_scope", scope="...")'),
    **DATABASE_DOWN,
}
THROTTLED = body(TokenErrorBody, "Too many failed logins, or attempts at once: retry after Retry-After")
# Logins also get 503 when too many password checks wait already (hashing.CheckQueue).
OVERLOADED = body(
    ServerError,
    "Too many logins are waiting for a password check"
    + (", or the database is not available" if database.CAN_BE_UNAVAILABLE else "")
    + ": retry after Retry-After",
)
# The refusals of every route that makes an account (sign-up, an admin's POST /users): the
# answers of dependencies.account_refusals_answered, the request limits, throttling, the queue.
NEW_ACCOUNT_REFUSALS = {
    409: error("The username is taken"),
    413: TOO_LARGE,
    415: NOT_JSON,
    422: INVALID_BODY,
    429: THROTTLED,
    503: OVERLOADED,
}


def form_body(model: type[msgspec.Struct]) -> dict:
    schema = struct_schemas([model])[model.__name__]
    content = {media_type: {"schema": schema} for media_type in FORM_TYPES}
    return {"requestBody": {"required": True, "content": content}}


NOT_VERIFIED = body(
    EmailNotVerifiedBody,
    'The token lacks a scope the route needs (Bearer error="insufficient_scope", scope="..."), or the '
    "user's e-mail address is not verified (error: email_not_verified; REQUIRE_VERIFIED_EMAIL is on)",
)


def protection(handler):
    """The handler's require_scopes dependency (dependencies.py); None: not protected."""
    for parameter in inspect.signature(handler).parameters.values():
        if isinstance(parameter.default, Depends) and hasattr(parameter.default.dependency, "scopes"):
            return parameter.default.dependency
    return None


def document_protection(app: Faster) -> None:
    """Each protected route gets the security requirement that makes the docs send the token, and
    the 401/403 answers of RFC 6750 (its own `responses` win where they say more)."""
    for route in app.routes:
        dependency = protection(route["handler"])
        if dependency is not None:
            errors = {**BEARER_ERRORS, 403: NOT_VERIFIED} if dependency.verified_email else BEARER_ERRORS
            route["responses"] = {**errors, **(route["responses"] or {})}
            security = [{SCHEME: list(dependency.scopes)}]
            route["openapi_extra"] = {"security": security, **(route["openapi_extra"] or {})}


def struct_schemas(structs: list[type[msgspec.Struct]]) -> dict[str, dict]:
    """msgspec's JSON Schema of each Struct and of those they use, by name, in OpenAPI 3.0 terms."""
    _, components = msgspec.json.schema_components(structs, ref_template="#/components/schemas/{name}")
    return {name: openapi_30(schema) for name, schema in components.items()}


def openapi_30(schema: object) -> object:
    """JSON Schema 2020-12 as msgspec writes it, in OpenAPI 3.0's dialect: msgspec writes `X | None`
    as `anyOf: [X, {type: null}]`, which 3.0 spells `nullable: true`."""
    if isinstance(schema, list):
        return [openapi_30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    # 3.0 wants at least one name in `required` (msgspec writes [] for a Struct of optional fields).
    schema = {key: openapi_30(value) for key, value in schema.items() if (key, value) != ("required", [])}
    options = schema.get("anyOf", [])
    if {"type": "null"} in options and len(options) == 2:
        del schema["anyOf"]
        [other] = [option for option in options if option != {"type": "null"}]
        # A $ref ignores the words beside it in 3.0: wrap it.
        schema.update({"allOf": [other]} if "$ref" in other else other, nullable=True)
    return schema


def struct_of_models(name: str) -> type[msgspec.Struct]:
    """The Struct the generator named: bodies and answers are all declared in models.py."""
    struct = getattr(models, name, None)
    if struct is None:
        raise RuntimeError(f"{name} is in the OpenAPI document: declare it in models.py")
    return struct


def add_openapi_routes(app: Faster) -> None:
    """Serve /openapi.json and /docs. Call it last: the document covers the routes added before."""
    document_protection(app)
    spec = generate_openapi(app, title=app.title, version=app.version, description=app.description)
    for route in app.routes:
        # The generator adds a 422 to every operation with a parameter; a route that can answer
        # one declares it (a path parameter alone never gets one).
        if 422 not in (route["responses"] or {}):
            spec["paths"][route["path"]][route["method"].lower()]["responses"].pop("422", None)
    components = spec.setdefault("components", {})
    components["schemas"] = struct_schemas([struct_of_models(name) for name in components.get("schemas", {})])
    components["securitySchemes"] = {
        SCHEME: {"type": "oauth2", "flows": {"password": {"tokenUrl": TOKEN_URL, "scopes": SCOPES}}}
    }
    document = msgspec.json.encode(spec)

    @app.get("/openapi.json", tags=["openapi"])
    async def openapi_document() -> Response:
        return Response(document, media_type="application/json")

    add_method_not_allowed_routes(app, spec)
    add_docs_routes(app)


# What clients may send to a path of the document that it does not list for that path. (HEAD and
# OPTIONS stay as the framework answers them.)
OTHER_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "QUERY")


def add_method_not_allowed_routes(app: Faster, spec: dict) -> None:
    """405 with the Allow header (RFC 9110 15.5.6) for a method a documented path does not take;
    the framework answers 404, as for a path that does not exist. Added after the document is
    made, so they are not in it, and as routes, so that allowed methods pay nothing for them."""
    for path, item in spec["paths"].items():
        allowed = [method.upper() for method in item]
        refusal = method_not_allowed(", ".join(allowed))
        for method in OTHER_METHODS:
            if method not in allowed:
                # The framework's decorators cover five methods: this is the one they all call.
                app._route_decorator(method, path)(refusal)


def method_not_allowed(allow: str):
    async def refuse(request: Request) -> Response:
        raise HTTPException(405, "Method Not Allowed", {"Allow": allow})

    return refuse
