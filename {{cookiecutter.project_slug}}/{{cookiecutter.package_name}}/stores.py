"""What every storage backend provides: the user store and the refresh-token store.

The backend this project was generated with implements them in user_store.py and
refresh_store.py; routes and the command line use only the methods below.
"""

from typing import Literal, Protocol

import msgspec

from .models import UserInDB

State = Literal["active", "spent", "revoked"]


class StoreUnavailable(Exception):
    """The database did not answer, or failed: the request gets 503 and may be retried."""


class UserExists(Exception):
    """A user with that username exists already."""


class NoSuchUser(Exception):
    """No user has that username."""


class RefreshRecord(msgspec.Struct):
    jti: str
    family: str  # every token issued from one login shares it
    username: str
    expires_at: int
    state: State = "active"


class UserStore(Protocol):
    async def get(self, username: str) -> UserInDB | None:
        """The user as stored now: for logins and every check that must not be stale."""
        ...

    async def get_cached(self, username: str) -> UserInDB | None:
        """The user, possibly USER_CACHE_SECONDS old: for the checks on every request."""
        ...

    async def create(self, user: UserInDB) -> None:
        """Add a new user; UserExists if the username is taken."""
        ...

    async def save(self, user: UserInDB) -> None:
        """Replace the stored user of that username; NoSuchUser if there is none."""
        ...

    async def delete(self, username: str) -> None: ...

    async def list(self, offset: int = 0, limit: int = 100) -> list[UserInDB]:
        """Users in username order."""
        ...


class RefreshStore(Protocol):
    async def add(self, record: RefreshRecord) -> None: ...

    async def rotate(self, jti: str, successor: RefreshRecord) -> bool:
        """Spend token `jti` and record `successor` in its place, atomically. False (and nothing
        recorded) when `jti` is not active: unknown, spent already, or revoked."""
        ...

    async def revoke_family(self, family: str) -> None: ...

    async def revoke_user(self, username: str) -> None:
        """Revoke every refresh token of the user, whatever login it came from."""
        ...
