"""Login, refresh and logout, under /auth.

The access token travels in the JSON body (clients keep it in memory); the refresh token only
in an HttpOnly cookie scoped to /auth, which page scripts cannot read. Each refresh spends the
cookie's token and issues a new one; a spent token coming back revokes its whole login family,
unless it is the live token's predecessor, spent within REFRESH_REUSE_GRACE_SECONDS: then it
gets that same live token again (two tabs refreshing at once, a retried request).
Logins are throttled (throttle.py) before any password is checked.
"""

import secrets
import time

from FasterAPI import Depends, FasterRouter, HTTPException, JSONResponse, Request, Response

from .. import client_address, throttle
from ..dependencies import read_login_form, require_allowed_origin
from ..models import LoginForm, TokenResponse
from ..openapi import BAD_ORIGIN, DATABASE_DOWN, INVALID_FORM, OVERLOADED, THROTTLED, TOO_LARGE, body, error, form_body
from ..refresh_store import refresh_store
from ..security import (
    REFRESH,
    InvalidToken,
    TokenClaims,
    create_access_token,
    create_refresh_token,
    decode_refresh_token,
    encode_token,
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
        401: error("Wrong username or password"),
        413: TOO_LARGE,
        422: INVALID_FORM,
        429: THROTTLED,
        503: OVERLOADED,
    },
    openapi_extra=form_body(LoginForm),
)
async def login(request: Request, form: LoginForm = Depends(read_login_form)) -> Response:
    async with throttle.attempt(form.username, client_address.of_request(request)) as attempt:
        user = await user_store.get(form.username)
        # Unknown users are checked against a dummy hash, so the answer time does not tell them apart.
        password_ok = await verify_password_in_thread(form.password, user.hashed_password if user else None)
        if not password_ok or user is None or user.disabled:
            attempt.failed()
            raise HTTPException(401, "Incorrect username or password", {"WWW-Authenticate": "Bearer"})
        attempt.succeeded()
    refresh_token, record = new_refresh_token(user.username, family=secrets.token_urlsafe(16))
    await refresh_store.add(record)
    return token_response(user.username, refresh_token)


@router.post(
    "/refresh",
    dependencies=cookie_required,
    responses={
        200: TOKEN_ISSUED,
        401: error("Refresh cookie missing, invalid, expired or reused"),
        403: BAD_ORIGIN,
        **DATABASE_DOWN,
    },
)
async def refresh(request: Request) -> Response:
    claims = read_refresh_cookie(request)
    user = await user_store.get(claims.sub)
    if user is None or user.disabled:
        await refresh_store.revoke_family(claims.fam)
        raise refresh_error("Invalid or expired refresh token")
    successor, record = new_refresh_token(user.username, family=claims.fam)
    if await refresh_store.rotate(claims.jti, record):
        return token_response(user.username, successor)
    if settings.refresh_reuse_grace_seconds > 0:
        since = time.time() - settings.refresh_reuse_grace_seconds
        live = await refresh_store.successor_spent_since(claims.jti, since)
        if live is not None:  # the same successor again: whichever answer the browser keeps works
            return token_response(user.username, encode_token(claims_of(live)))
    await refresh_store.revoke_family(claims.fam)  # a token used twice: one copy was stolen
    raise refresh_error("Refresh token already used or revoked: log in again")


@router.post(
    "/logout",
    status_code=204,
    dependencies=cookie_required,
    responses={
        204: {"description": "Refresh tokens of this login revoked, cookie cleared"},
        403: BAD_ORIGIN,
        **DATABASE_DOWN,
    },
)
async def logout(request: Request) -> Response:
    """Always succeeds: with no valid cookie there is nothing to revoke."""
    try:
        claims = read_refresh_cookie(request)
    except HTTPException:
        pass
    else:
        await refresh_store.revoke_family(claims.fam)
    return Response(status_code=204, headers={"Set-Cookie": refresh_cookie("", max_age=0)})


def new_refresh_token(username: str, family: str) -> tuple[str, RefreshRecord]:
    token, claims = create_refresh_token(username, family)
    return token, RefreshRecord(claims.jti, family, username, expires_at=claims.exp, issued_at=claims.iat)


def claims_of(record: RefreshRecord) -> TokenClaims:
    """The claims the recorded token was issued with: encoded, they give the same token."""
    return TokenClaims(
        sub=record.username,
        type=REFRESH,
        exp=record.expires_at,
        iat=record.issued_at,
        jti=record.jti,
        fam=record.family,
    )


def token_response(username: str, refresh_token: str) -> Response:
    max_age = settings.refresh_token_expire_days * 86400  # the refresh token's lifetime
    return JSONResponse(
        TokenResponse(access_token=create_access_token(username)),
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
    return HTTPException(401, detail, {"Set-Cookie": refresh_cookie("", max_age=0)})


def refresh_cookie(token: str, max_age: int) -> str:
    # SameSite=Strict: no cross-site request carries the cookie. Path=/auth: only refresh and
    # logout receive it. Secure is dropped only when COOKIE_SECURE=false (plain-http development).
    secure = "; Secure" if settings.cookie_secure else ""
    return f"{REFRESH_COOKIE}={token}; Max-Age={max_age}; Path=/auth; HttpOnly; SameSite=Strict{secure}"
