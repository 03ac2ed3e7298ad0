"""Items: an example of a protected resource that belongs to the current user."""

from FasterAPI import Depends, FasterRouter

from ..dependencies import require_scopes
from ..models import Item, User
from ..openapi import body

router = FasterRouter(prefix="/items", tags=["items"])


@router.get("", responses={200: body(list[Item])})
async def read_items(current_user: User = Depends(require_scopes("items", verified_email=True))) -> list[Item]:
    return [Item(name="Widget", owner=current_user.username)]
