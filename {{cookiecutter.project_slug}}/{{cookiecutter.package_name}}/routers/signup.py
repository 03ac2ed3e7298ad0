"""Sign-up: anyone may create an account, when the setting ALLOW_SIGNUP is true (default false,
and then the route answers 404 as if it did not exist)."""

from FasterAPI import Depends, FasterRouter, HTTPException, Request

from .. import accounts, client_address, recovery
from ..dependencies import account_refusals_answered, require_allowed_origin
from ..models import SignUp, User
from ..openapi import BAD_ORIGIN, NEW_ACCOUNT_REFUSALS, body, error
from ..settings import settings

router = FasterRouter(prefix="/auth", tags=["auth"])


async def require_signup_allowed() -> None:
    if not settings.allow_signup:
        raise HTTPException(404, "Not Found")  # what the framework answers for a route that is not there


@router.post(
    "/register",
    status_code=201,
    dependencies=[Depends(require_signup_allowed), Depends(require_allowed_origin)],
    responses={
        201: body(User, "Created, with the scopes me and items: log in next (a link to verify the e-mail goes to it)"),
        403: BAD_ORIGIN,
        404: error("Sign-up is off (ALLOW_SIGNUP=false, the default)"),
        **NEW_ACCOUNT_REFUSALS,
    },
)
async def register(request: Request, new: SignUp) -> User:
    """Throttled per client address (ACCOUNTS_PER_ADDRESS); the name is stored in its canonical
    form (lower case: see accounts.py), which is what the answer shows."""
    with account_refusals_answered():
        address = client_address.of_request(request)
        user = await accounts.create_account(new.username, new.password, new.email, address=address)
    await recovery.send_verification(user)  # when it has an address
    return user.public()
