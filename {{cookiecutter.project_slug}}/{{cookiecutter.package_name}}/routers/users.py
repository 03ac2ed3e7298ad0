"""The current user's own account."""

from FasterAPI import Depends, FasterRouter

from ..dependencies import get_current_user
from ..models import User
from ..openapi import DATABASE_DOWN, body, error, requires_bearer

router = FasterRouter(prefix="/users", tags=["users"])


@router.get(
    "/me",
    responses={200: body(User), 401: error("Missing, invalid or expired access token"), **DATABASE_DOWN},
    openapi_extra=requires_bearer,
)
async def read_users_me(current_user: User = Depends(get_current_user)) -> User:
    return current_user
