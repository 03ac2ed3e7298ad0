"""Login, refresh, logout and sign out everywhere, under /auth: HTTP only. What a token is and
when it is good is sessions.py's; who may log in is accounts.py's.

The access token travels in the JSON body (clients keep it in memory); the refresh token only in
an HttpOnly cookie scoped to /auth, which page scripts cannot read. Every route here refuses a
browser's cross-site call (require_allowed_origin): one that would use the cookie, and a login
that would set one (login CSRF).
"""

from FasterAPI import Depends, FasterRouter, HTTPException, JSONResponse, Request, Response

from .. import accounts, client_address, scopes, sessions, token_errors
from ..dependencies import read_login_form, require_allowed_origin
from ..models import LoginForm, TokenResponse
from ..openapi import (
    BAD_ORIGIN,
    DATABASE_DOWN,
    INVALID_FORM,
    NOT_JSON,
    OVERLOADED,
    THROTTLED,
    TOO_LARGE,
    body,
    error,
    form_body,
    token_error,
)
from ..settings import settings

router = FasterRouter(prefix="/auth", tags=["auth"])

REFRESH_COOKIE = "refresh_token"
TOKEN_ISSUED = body(TokenResponse, "Access token in the body, refresh token in an HttpOnly cookie")
same_site_only = [Depends(require_allowed_origin)]


@router.post(
    "/token",
    dependencies=same_site_only,
    responses={
        200: TOKEN_ISSUED,
        400: token_error(
            "grant_type is not password (unsupported_grant_type), or a scope is unknown or not allowed (invalid_scope)"
        ),
        401: token_error("Wrong username or password, or a disabled user (invalid_grant)"),
        403: BAD_ORIGIN,
        413: TOO_LARGE,
        422: INVALID_FORM,
        429: THROTTLED,
        503: OVERLOADED,
    },
    openapi_extra=form_body(LoginForm),
)
async def login(request: Request, form: LoginForm = Depends(read_login_form)) -> Response:
    """The OAuth2 password grant. `scope` asks for some of the user's scopes (all when empty)."""
    try:
        requested = scopes.parse(form.scope)  # unknown names are refused before any hashing
        user = await accounts.authenticate(form.username, form.password, client_address.of_request(request))
        return token_response(await sessions.start(user, requested))
    except scopes.InvalidScope as exc:
        raise token_errors.invalid_scope(str(exc)) from None
    except accounts.BadCredentials:
        raise token_errors.invalid_grant() from None


@router.post(
    "/refresh",
    dependencies=same_site_only,
    responses={
        200: TOKEN_ISSUED,
        401: error("Refresh cookie missing, invalid, expired or reused"),
        403: BAD_ORIGIN,
        415: NOT_JSON,
        **DATABASE_DOWN,
    },
)
async def refresh(request: Request) -> Response:
    try:
        return token_response(await sessions.rotate(cookie_value(request, REFRESH_COOKIE)))
    except sessions.SessionRefused as exc:
        raise refresh_error(str(exc)) from None


def sign_out_route(path: str, done: str, answers: dict | None = None):
    """POST `path`: a 204 that clears the refresh cookie, under the cookie routes' origin check."""
    responses = {204: {"description": done}, **(answers or {}), 403: BAD_ORIGIN, 415: NOT_JSON, **DATABASE_DOWN}
    return router.post(path, status_code=204, dependencies=same_site_only, responses=responses)


@sign_out_route("/logout", "Refresh tokens of this login revoked, cookie cleared")
async def logout(request: Request) -> Response:
    """Always succeeds: with no valid cookie there is nothing to revoke."""
    await sessions.end(cookie_value(request, REFRESH_COOKIE))
    return Response(status_code=204, headers=clear_cookie())


@sign_out_route(
    "/logout-all",
    "Every refresh token of the user revoked, access tokens issued until now refused",
    {401: error("Refresh cookie missing, invalid or expired: whose sessions to end is unknown")},
)
async def logout_all(request: Request) -> Response:
    """Sign out everywhere: every login of the cookie's user ends, on every device."""
    try:
        await sessions.end_all_of(cookie_value(request, REFRESH_COOKIE))
    except sessions.SessionRefused as exc:
        raise refresh_error(str(exc)) from None
    return Response(status_code=204, headers=clear_cookie())


def token_response(issued: sessions.Issued) -> Response:
    answer = TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in, scope=issued.scope)
    cookie = refresh_cookie(issued.refresh_token, issued.refresh_max_age)
    return JSONResponse(answer, headers={"Cache-Control": "no-store", "Set-Cookie": cookie})


def cookie_value(request: Request, name: str) -> str | None:
    # Not request.cookies: its parser drops every cookie of the header when one of the site's
    # other cookies is not strict RFC syntax (a space, a bare flag), as browsers do send.
    for pair in request.headers.get("cookie", "").split(";"):
        key, _, value = pair.strip().partition("=")
        if key == name:
            return value.strip()
    return None


def refresh_error(detail: str) -> HTTPException:
    # Clear the cookie too: a browser should not keep sending a token that can never work.
    return HTTPException(401, detail, clear_cookie())


def refresh_cookie(token: str, max_age: int) -> str:
    # SameSite=Strict: no cross-site request carries the cookie. Path=/auth: only refresh and
    # logout receive it. Secure is dropped only when COOKIE_SECURE=false (plain-http development).
    secure = "; Secure" if settings.cookie_secure else ""
    return f"{REFRESH_COOKIE}={token}; Max-Age={max_age}; Path=/auth; HttpOnly; SameSite=Strict{secure}"


def clear_cookie() -> dict[str, str]:
    return {"Set-Cookie": refresh_cookie("", max_age=0)}
