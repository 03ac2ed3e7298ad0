"""Login, refresh, logout and sign out everywhere, under /auth.

The access token travels in the JSON body (clients keep it in memory); the refresh token only
in an HttpOnly cookie scoped to /auth, which page scripts cannot read. Each refresh spends the
cookie's token and issues a new one; a spent token coming back revokes its whole login family,
unless it is the live token's predecessor, spent within REFRESH_REUSE_GRACE_SECONDS: then it
gets that same live token again (two tabs refreshing at once, a retried request).
A login's granted scopes ride in its refresh tokens, so each refresh grants them again, less
any the user has lost since. Logins are throttled (throttle.py) before any password is checked.
"""

import secrets
import time

from FasterAPI import Depends, FasterRouter, HTTPException, JSONResponse, Request, Response

from .. import accounts, client_address, scopes, throttle, token_errors
from ..dependencies import read_login_form, require_allowed_origin
from ..models import LoginForm, TokenResponse, UserInDB
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
from ..refresh_store import refresh_store
from ..security import (
    REFRESH,
    InvalidToken,
    TokenClaims,
    create_access_token,
    create_refresh_token,
    decode_refresh_token,
    encode_token,
    issued_at_for,
    verify_password_in_thread,
)
from ..settings import settings
from ..stores import RefreshRecord
from ..user_store import user_store

router = FasterRouter(prefix="/auth", tags=["auth"])

REFRESH_COOKIE = "refresh_token"
TOKEN_ISSUED = body(TokenResponse, "Access token in the body, refresh token in an HttpOnly cookie")
cookie_required = [Depends(require_allowed_origin)]


@router.post(
    "/token",
    responses={
        200: TOKEN_ISSUED,
        400: token_error(
            "grant_type is not password (unsupported_grant_type), or a scope is unknown or not allowed (invalid_scope)"
        ),
        401: token_error("Wrong username or password, or a disabled user (invalid_grant)"),
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
    except scopes.InvalidScope as exc:
        raise token_errors.invalid_scope(str(exc)) from None
    async with throttle.attempt(form.username, client_address.of_request(request)) as attempt:
        user = await user_store.get(form.username)
        # Unknown users are checked against a dummy hash, so the answer time does not tell them apart.
        password_ok = await verify_password_in_thread(form.password, user.hashed_password if user else None)
        if not password_ok or user is None or user.disabled:
            attempt.failed()
            raise token_errors.invalid_grant()
        attempt.succeeded()
    try:
        granted = " ".join(scopes.grant(requested, user.scopes))
    except scopes.InvalidScope as exc:
        raise token_errors.invalid_scope(str(exc)) from None
    refresh_token, record = new_refresh_token(user, family=secrets.token_urlsafe(16), scope=granted)
    await refresh_store.add(record)
    return token_response(user, granted, refresh_token)


@router.post(
    "/refresh",
    dependencies=cookie_required,
    responses={
        200: TOKEN_ISSUED,
        401: error("Refresh cookie missing, invalid, expired or reused"),
        403: BAD_ORIGIN,
        415: NOT_JSON,
        **DATABASE_DOWN,
    },
)
async def refresh(request: Request) -> Response:
    claims = read_refresh_cookie(request)
    user = await user_store.get(claims.sub)
    # Issued before a password change or "sign out everywhere": revoked by those already, and
    # refused here too, whatever a concurrent rotation did.
    if user is None or user.disabled or claims.iat < user.tokens_valid_from:
        await refresh_store.revoke_family(claims.fam)
        raise refresh_error("Invalid or expired refresh token")
    try:
        # The login's scopes, less those the user is no longer allowed.
        granted = " ".join(scopes.grant(claims.scope.split(), user.scopes))
    except scopes.InvalidScope:
        await refresh_store.revoke_family(claims.fam)
        raise refresh_error("This login's scopes are no longer allowed: log in again") from None
    successor, record = new_refresh_token(user, family=claims.fam, scope=claims.scope)
    if await refresh_store.rotate(claims.jti, record):
        return token_response(user, granted, successor)
    if settings.refresh_reuse_grace_seconds > 0:
        since = time.time() - settings.refresh_reuse_grace_seconds
        live = await refresh_store.successor_spent_since(claims.jti, since)
        if live is not None:  # the same successor again: whichever answer the browser keeps works
            return token_response(user, granted, encode_token(claims_of(live)))
    await refresh_store.revoke_family(claims.fam)  # a token used twice: one copy was stolen
    raise refresh_error("Refresh token already used or revoked: log in again")


def sign_out_route(path: str, done: str, answers: dict | None = None):
    """POST `path`: a 204 that clears the refresh cookie, under the cookie routes' origin check."""
    responses = {204: {"description": done}, **(answers or {}), 403: BAD_ORIGIN, 415: NOT_JSON, **DATABASE_DOWN}
    return router.post(path, status_code=204, dependencies=cookie_required, responses=responses)


@sign_out_route("/logout", "Refresh tokens of this login revoked, cookie cleared")
async def logout(request: Request) -> Response:
    """Always succeeds: with no valid cookie there is nothing to revoke."""
    try:
        claims = read_refresh_cookie(request)
    except HTTPException:
        pass
    else:
        await refresh_store.revoke_family(claims.fam)
    return Response(status_code=204, headers=clear_cookie())


@sign_out_route(
    "/logout-all",
    "Every refresh token of the user revoked, access tokens issued until now refused",
    {401: error("Refresh cookie missing, invalid or expired: whose sessions to end is unknown")},
)
async def logout_all(request: Request) -> Response:
    """Sign out everywhere: every login of the cookie's user ends, on every device."""
    claims = read_refresh_cookie(request)
    user = await user_store.get(claims.sub)
    if user is None or claims.iat < user.tokens_valid_from:  # gone, or signed out since
        raise refresh_error("Invalid or expired refresh token")
    await accounts.end_sessions(user)
    return Response(status_code=204, headers=clear_cookie())


def claims_of(record: RefreshRecord) -> TokenClaims:
    """The claims the recorded token was issued with: encoded, they give the same token."""
    return TokenClaims(
        sub=record.username,
        type=REFRESH,
        exp=record.expires_at,
        iat=record.issued_at,
        jti=record.jti,
        scope=record.scope,
        fam=record.family,
    )


def new_refresh_token(user: UserInDB, family: str, scope: str) -> tuple[str, RefreshRecord]:
    token, claims = create_refresh_token(user.username, family, scope, issued_at_for(user.tokens_valid_from))
    record = RefreshRecord(claims.jti, family, user.username, claims.exp, issued_at=claims.iat, scope=scope)
    return token, record


def token_response(user: UserInDB, scope: str, refresh_token: str) -> Response:
    lifetime = settings.access_token_expire_minutes * 60
    access_token = create_access_token(user.username, scope.split(), issued_at=issued_at_for(user.tokens_valid_from))
    max_age = settings.refresh_token_expire_days * 86400  # the refresh token's lifetime
    return JSONResponse(
        TokenResponse(access_token=access_token, expires_in=lifetime, scope=scope),
        headers={"Cache-Control": "no-store", "Set-Cookie": refresh_cookie(refresh_token, max_age)},
    )


def read_refresh_cookie(request: Request) -> TokenClaims:
    token = cookie_value(request, REFRESH_COOKIE)
    if not token:
        raise refresh_error("Missing refresh token cookie")
    try:
        return decode_refresh_token(token)
    except InvalidToken:
        raise refresh_error("Invalid or expired refresh token") from None


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
