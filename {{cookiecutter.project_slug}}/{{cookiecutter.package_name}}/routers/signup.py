"""Sign-up: anyone may create an account, when the setting ALLOW_SIGNUP is true (default false,
and then the route answers 404 as if it did not exist)."""

from FasterAPI import Depends, FasterRouter, HTTPException

from .. import accounts
from ..dependencies import account_refusals_answered
from ..models import SignUp, User
from ..openapi import DATABASE_DOWN, INVALID_BODY, NOT_JSON, TOO_LARGE, body, error
from ..settings import settings

router = FasterRouter(prefix="/auth", tags=["auth"])


async def require_signup_allowed() -> None:
    if not settings.allow_signup:
        raise HTTPException(404, "Not Found")  # what the framework answers for a route that is not there


@router.post(
    "/register",
    status_code=201,
    dependencies=[Depends(require_signup_allowed)],
    responses={
        201: body(User, "Created, with the scopes me and items: log in next"),
        404: error("Sign-up is off (ALLOW_SIGNUP=false, the default)"),
        409: error("The username is taken"),
        413: TOO_LARGE,
        415: NOT_JSON,
        422: INVALID_BODY,
        **DATABASE_DOWN,
    },
)
async def register(new: SignUp) -> User:
    with account_refusals_answered():
        user = await accounts.create_account(new.username, new.password, new.email)
    return user.public()
