"""Managing users, for tokens with the `admin` scope: list them, create one, disable or enable
one, change what scopes one may be granted."""

from FasterAPI import Depends, FasterRouter, HTTPException, Request

from .. import accounts
from ..dependencies import account_refusals_answered, invalid_field, require_scopes
from ..models import NewUser, User, UserAccount, UserChanges, UserInDB, UserPage
from ..openapi import BEARER_ERRORS, INVALID_BODY, NOT_JSON, TOO_LARGE, body, error, requires
from ..scopes import InvalidScope
from ..stores import NoSuchUser
from ..user_store import user_store

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


def account(user: UserInDB) -> UserAccount:
    return UserAccount(username=user.username, email=user.email, disabled=user.disabled, scopes=list(user.scopes))


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """The framework hands query values over as text, and a repeated one as a list of them:
    check them here, with a 422 naming them."""
    value = request.query_params.get(name)
    if value is None:
        return default
    if isinstance(value, list):  # ?offset=1&offset=2
        raise invalid_field(name, f"give {name} once", where="query")
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and low <= int(value) <= high):
        raise invalid_field(name, f"{name} must be a whole number from {low} to {high}", where="query")
    return int(value)


@router.get(
    "",
    responses={200: body(UserPage), **BEARER_ERRORS, 422: INVALID_BODY},
    openapi_extra={**requires("admin"), "parameters": PAGE_PARAMETERS},
)
async def list_users(request: Request, current_user: User = Depends(admin)) -> UserPage:
    """Users in username order, `limit` at a time from `offset`."""
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    limit = query_int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    users = await user_store.list(offset=offset, limit=limit + 1)  # one more: is there a next page?
    next_offset = offset + limit if len(users) > limit else None
    return UserPage(users=[account(user) for user in users[:limit]], next_offset=next_offset)


@router.post(
    "",
    status_code=201,
    responses={
        201: body(UserAccount, "Created"),
        **BEARER_ERRORS,
        409: error("The username is taken"),
        413: TOO_LARGE,
        415: NOT_JSON,
        422: INVALID_BODY,
    },
    openapi_extra=requires("admin"),
)
async def create_user(*, current_user: User = Depends(admin), new: NewUser) -> UserAccount:
    with account_refusals_answered():
        user = await accounts.create_account(new.username, new.password, new.email, tuple(new.scopes))
    return account(user)


@router.patch(
    "/{username}",
    responses={
        200: body(UserAccount, "Changed"),
        **BEARER_ERRORS,
        404: error("No user has that username"),
        409: error("An admin cannot disable their own account nor drop their own admin scope"),
        413: TOO_LARGE,
        415: NOT_JSON,
        422: INVALID_BODY,
    },
    openapi_extra=requires("admin"),
)
async def update_user(*, current_user: User = Depends(admin), username: str, changes: UserChanges) -> UserAccount:
    """Disable (their refresh tokens are revoked at once; their access tokens stop working within
    USER_CACHE_SECONDS) or enable a user, and/or replace the scopes they may be granted (a removed
    scope leaves their tokens at the next refresh)."""
    if changes.disabled is None and changes.scopes is None:
        raise invalid_field("disabled", "give disabled, scopes or both")
    drops_admin = changes.scopes is not None and "admin" not in changes.scopes
    if username == current_user.username and (changes.disabled or drops_admin):
        # So that the last admin cannot lock everyone out of these routes by mistake.
        raise HTTPException(409, "You cannot disable yourself or drop your own admin scope: ask another admin")
    user = await user_store.get(username)
    try:
        if user is None:
            raise NoSuchUser(username)
        return account(await accounts.update_account(user, changes.disabled, changes.scopes))
    except NoSuchUser:  # never was, or deleted meanwhile
        raise HTTPException(404, "No such user") from None
    except InvalidScope as exc:
        raise invalid_field("scopes", str(exc)) from None
