"""The current user's own account: read it, change its password."""

from FasterAPI import Depends, FasterRouter, HTTPException, Request, Response

from .. import accounts, client_address, throttle
from ..dependencies import invalid_field, require_scopes
from ..models import PasswordChange, User
from ..openapi import BEARER_ERRORS, INVALID_BODY, NOT_JSON, OVERLOADED, THROTTLED, TOO_LARGE, body, error, requires
from ..passwords import WeakPassword, check_password
from ..security import verify_password_in_thread
from ..user_store import user_store

router = FasterRouter(prefix="/users", tags=["users"])


@router.get("/me", responses={200: body(User), **BEARER_ERRORS}, openapi_extra=requires("me"))
async def read_users_me(current_user: User = Depends(require_scopes("me"))) -> User:
    return current_user


@router.post(
    "/me/password",
    status_code=204,
    responses={
        204: {"description": "Changed: every session of the user ends, this one too (log in again)"},
        **BEARER_ERRORS,
        401: error("No valid token (as on every protected route), or a wrong current_password"),
        413: TOO_LARGE,
        415: NOT_JSON,
        422: INVALID_BODY,
        429: THROTTLED,
        503: OVERLOADED,
    },
    openapi_extra=requires("me"),
)
async def change_my_password(
    request: Request, *, current_user: User = Depends(require_scopes("me")), change: PasswordChange
) -> Response:
    """Every refresh token of the user is revoked, and every access token issued until now is
    refused, this request's too: whoever knew the old password is signed out everywhere."""
    try:
        check_password(change.new_password)  # cheap, so before the costly check of the current one
    except WeakPassword as exc:
        raise invalid_field("new_password", str(exc), exc.rule) from None
    # A wrong current password counts as a failed login does: guessing it here is throttled too.
    async with throttle.attempt(current_user.username, client_address.of_request(request)) as attempt:
        user = await user_store.get(current_user.username)
        if user is None or not await verify_password_in_thread(change.current_password, user.hashed_password):
            attempt.failed()
            raise HTTPException(401, "The current password is wrong", {"WWW-Authenticate": "Bearer"})
        attempt.succeeded()
    await accounts.change_password(user, change.new_password)
    return Response(status_code=204)
