"""The current user's own account: read it, change its password."""

from FasterAPI import Depends, FasterRouter, HTTPException, Request, Response

from .. import accounts, client_address
from ..dependencies import invalid_field, require_scopes
from ..models import PasswordChange, User
from ..openapi import INVALID_BODY, NOT_JSON, OVERLOADED, THROTTLED, TOO_LARGE, body, error
from ..passwords import WeakPassword, check_password

router = FasterRouter(prefix="/users", tags=["users"])


@router.get("/me", responses={200: body(User)})
async def read_users_me(current_user: User = Depends(require_scopes("me"))) -> User:
    return current_user


@router.post(
    "/me/password",
    status_code=204,
    responses={
        204: {"description": "Changed: every session of the user ends, this one too (log in again)"},
        401: error("No valid token (as on every protected route), or a wrong current_password"),
        413: TOO_LARGE,
        415: NOT_JSON,
        422: INVALID_BODY,
        429: THROTTLED,
        503: OVERLOADED,
    },
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
    address = client_address.of_request(request)
    try:
        user = await accounts.authenticate(current_user.username, change.current_password, address, login=False)
    except accounts.BadCredentials:
        raise HTTPException(401, "The current password is wrong", {"WWW-Authenticate": "Bearer"}) from None
    await accounts.change_password(user, change.new_password)
    return Response(status_code=204)
