"""Items: an example of a protected resource that belongs to the current user."""

from FasterAPI import Depends, FasterRouter

from ..dependencies import get_current_user
from ..models import Item, User
from ..openapi import DATABASE_DOWN, body, error, requires_bearer

router = FasterRouter(prefix="/items", tags=["items"])


@router.get(
    "",
    responses={200: body(list[Item]), 401: error("Missing, invalid or expired access token"), **DATABASE_DOWN},
    openapi_extra=requires_bearer,
)
async def read_items(current_user: User = Depends(get_current_user)) -> list[Item]:
    return [Item(name="Widget", owner=current_user.username)]
