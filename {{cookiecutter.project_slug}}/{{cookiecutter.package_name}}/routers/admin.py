"""Managing users, for tokens with the `admin` scope: list them, create one, disable or enable
one, change what scopes one may be granted, end all of one's sessions. The service always keeps
one enabled admin: a change that would leave none is refused with 409 (stores.LastAdmin)."""

import msgspec
from FasterAPI import Depends, FasterRouter, HTTPException, Request, Response

from .. import accounts, client_address
from ..backend import user_store
from ..dependencies import account_refusals_answered, invalid_field, query_value, require_scopes
from ..models import NewUser, User, UserAccount, UserChanges, UserInDB, UserPage
from ..openapi import INVALID_BODY, NEW_ACCOUNT_REFUSALS, NOT_JSON, TOO_LARGE, body, error
from ..stores import NoSuchUser

router = FasterRouter(prefix="/users", tags=["admin"])

admin = require_scopes("admin")
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_OFFSET = 2**31 - 1  # fits every database's OFFSET
PAGE_PARAMETERS = [
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}},
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
]


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """The framework hands query values over as text, and a repeated one as a list of them:
    check them here, with a 422 naming them."""
    value = query_value(request, name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and low <= int(value) <= high):
        raise invalid_field(name, f"{name} must be a whole number from {low} to {high}", where="query")
    return int(value)


@router.get("", responses={200: body(UserPage), 422: INVALID_BODY}, openapi_extra={"parameters": PAGE_PARAMETERS})
async def list_users(request: Request, current_user: User = Depends(admin)) -> UserPage:
    """Users in username order, `limit` at a time from `offset`."""
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    limit = query_int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    users = await user_store.list(offset=offset, limit=limit + 1)  # one more: is there a next page?
    next_offset = offset + limit if len(users) > limit else None
    return UserPage(users=[user.account() for user in users[:limit]], next_offset=next_offset)


@router.post(
    "",
    status_code=201,
    responses={
        201: body(UserAccount, "Created"),
        **NEW_ACCOUNT_REFUSALS,
    },
)
async def create_user(request: Request, *, current_user: User = Depends(admin), new: NewUser) -> UserAccount:
    """Throttled per client address as sign-up is (ACCOUNTS_PER_ADDRESS)."""
    with account_refusals_answered():
        address = client_address.of_request(request)
        user = await accounts.create_account(new.username, new.password, new.email, tuple(new.scopes), address)
    return user.account()


async def existing(username: str) -> UserInDB:
    user = await accounts.find(username)
    if user is None:
        raise HTTPException(404, "No such user")
    return user


@router.patch(
    "/{username}",
    responses={
        200: body(UserAccount, "Changed"),
        404: error("No user has that username"),
        409: error("An admin cannot disable themselves or drop their own admin scope, nor leave no enabled admin"),
        413: TOO_LARGE,
        415: NOT_JSON,
        422: INVALID_BODY,
    },
)
async def update_user(*, current_user: User = Depends(admin), username: str, changes: UserChanges) -> UserAccount:
    """Disable or enable a user, and/or replace the scopes they may be granted (a field left out
    stays as it is). Disabling and taking a scope away end every session of the user (refresh
    tokens at once, access tokens in other processes within USER_CACHE_SECONDS); enabling again
    or giving a scope back revives none."""
    disabled = None if changes.disabled is msgspec.UNSET else changes.disabled
    scopes = None if changes.scopes is msgspec.UNSET else changes.scopes
    email = None if changes.email is msgspec.UNSET else changes.email
    user = await existing(username)
    drops_admin = scopes is not None and "admin" not in scopes
    if user.username == current_user.username and (disabled or drops_admin):
        # So that an admin cannot lock themselves out of these routes by mistake.
        raise HTTPException(409, "You cannot disable yourself or drop your own admin scope: ask another admin")
    try:
        with account_refusals_answered():
            return (await accounts.update_account(user, disabled, scopes, email)).account()
    except NoSuchUser:  # deleted meanwhile
        raise HTTPException(404, "No such user") from None


@router.post(
    "/{username}/logout-all",
    status_code=204,
    responses={204: {"description": "Every session of the user ended"}, 404: error("No user has that username")},
)
async def end_user_sessions(*, current_user: User = Depends(admin), username: str) -> Response:
    """Sign the user out everywhere: refresh tokens revoked at once, access tokens issued until now
    refused (in other processes within USER_CACHE_SECONDS). For a stolen device or a leaked token."""
    try:
        await accounts.sign_out_everywhere(await existing(username))
    except NoSuchUser:  # deleted meanwhile
        raise HTTPException(404, "No such user") from None
    return Response(status_code=204)
