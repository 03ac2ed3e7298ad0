"""Users in the SQL database (tables.users), behind the store interface (stores.py)."""

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from .database import transaction
from .models import UserInDB
from .settings import settings
from .stores import NoSuchUser, UserExists, UserStore
from .tables import users
from .user_cache import UserCache


def to_user(row: Row) -> UserInDB:
    return UserInDB(
        username=row.username,
        email=row.email,
        disabled=row.disabled,
        hashed_password=row.hashed_password,
        scopes=tuple(row.scopes.split()),
        created_at=row.created_at,
        password_changed_at=row.password_changed_at,
        tokens_valid_from=row.tokens_valid_from,
    )


def to_row(user: UserInDB) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "disabled": user.disabled,
        "hashed_password": user.hashed_password,
        "scopes": " ".join(user.scopes),
        "created_at": user.created_at,
        "password_changed_at": user.password_changed_at,
        "tokens_valid_from": user.tokens_valid_from,
    }


class SqlUserStore:
    def __init__(self, cache_seconds: float) -> None:
        self._cache = UserCache(cache_seconds)

    async def get(self, username: str) -> UserInDB | None:
        if "\x00" in username:  # PostgreSQL text cannot hold NUL, so no stored name has one
            return None
        async with transaction() as connection:
            row = (await connection.execute(select(users).where(users.c.username == username))).first()
        if row is None:
            self._cache.forget(username)
            return None
        user = to_user(row)
        self._cache.put(user)
        return user

    async def get_cached(self, username: str) -> UserInDB | None:
        return self._cache.get(username) or await self.get(username)

    async def create(self, user: UserInDB) -> None:
        try:
            async with transaction() as connection:
                await connection.execute(insert(users).values(to_row(user)))
        except IntegrityError:
            raise UserExists(user.username) from None
        self._cache.put(user)

    async def save(self, user: UserInDB) -> None:
        async with transaction() as connection:
            result = await connection.execute(
                update(users).where(users.c.username == user.username).values(to_row(user))
            )
        if result.rowcount == 0:
            raise NoSuchUser(user.username)
        self._cache.put(user)

    async def delete(self, username: str) -> None:
        async with transaction() as connection:
            await connection.execute(delete(users).where(users.c.username == username))
        self._cache.forget(username)

    async def list(self, offset: int = 0, limit: int = 100) -> list[UserInDB]:
        query = select(users).order_by(users.c.username).offset(offset).limit(limit)
        async with transaction() as connection:
            return [to_user(row) for row in await connection.execute(query)]


user_store: UserStore = SqlUserStore(cache_seconds=settings.user_cache_seconds)
