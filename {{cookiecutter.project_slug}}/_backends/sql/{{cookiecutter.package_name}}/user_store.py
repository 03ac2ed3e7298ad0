"""Users in the SQL database (tables.users), behind the store interface (stores.py)."""

from prometheus_client import Counter
from sqlalchemy import delete, exists, func, insert, literal, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from .database import transaction
from .models import UserInDB
from .scopes import ADMIN
from .settings import settings
from .stores import LastAdmin, NoSuchUser, UserExists, UserStore
from .tables import users
from .user_cache import UserCache

# For GET /metrics (metrics.py serves every metric of the process).
user_cache = Counter("user_cache_requests_total", "User cache lookups of protected routes, by result", ["result"])
CACHE_HIT = user_cache.labels("hit")
CACHE_MISS = user_cache.labels("miss")
COUNT_CACHE_LOOKUPS = settings.metrics_enabled
# Every field of UserInDB is stored in the users column of its name (a test checks they match),
# so a new column is a field here, a Column in tables.py and a migration. Only scopes changes
# shape: a tuple here, one space-separated string there (as in OAuth2).
COLUMNS = UserInDB.__struct_fields__


def to_user(row: Row) -> UserInDB:
    values = {name: row._mapping[name] for name in COLUMNS}
    return UserInDB(**{**values, "scopes": tuple(values["scopes"].split())})


def to_row(user: UserInDB) -> dict:
    return {**{name: getattr(user, name) for name in COLUMNS}, "scopes": " ".join(user.scopes)}


def enabled_admins(table=users):
    """Rows of users who are enabled and have the admin scope (scopes are space separated)."""
    return (table.c.disabled.is_(False)) & (literal(" ") + table.c.scopes + literal(" ")).like(f"% {ADMIN} %")


class SqlUserStore:
    def __init__(self, cache_seconds: float) -> None:
        self._cache = UserCache(cache_seconds)

    async def get(self, username: str) -> UserInDB | None:
        if "\x00" in username:  # no stored name has one: new names may not (models.py)
            return None
        return await self._read(users.c.username == username)

    async def get_by_email(self, email: str) -> UserInDB | None:
        if "\x00" in email:
            return None
        query = select(users).where(func.lower(users.c.email) == email.lower()).order_by(users.c.id).limit(1)
        async with transaction() as connection:
            row = (await connection.execute(query)).first()
        return to_user(row) if row is not None else None

    async def get_by_id(self, uid: str) -> UserInDB | None:
        return await self._read(users.c.uid == uid) if "\x00" not in uid else None

    def cached(self, uid: str) -> UserInDB | None:
        user = self._cache.get(uid)
        # Counted only while /metrics is on: a counter costs about a microsecond (it takes a
        # lock), more than the lookup itself, on every protected request.
        if COUNT_CACHE_LOOKUPS:
            (CACHE_HIT if user is not None else CACHE_MISS).inc()
        return user

    async def _read(self, condition) -> UserInDB | None:
        async with transaction() as connection:
            row = (await connection.execute(select(users).where(condition))).first()
        if row is None:
            return None
        user = to_user(row)
        self._cache.put(user)
        return user

    async def create(self, user: UserInDB) -> None:
        try:
            async with transaction() as connection:
                await connection.execute(insert(users).values(to_row(user)))
        except IntegrityError:
            raise UserExists(user.username) from None
        self._cache.put(user)

    async def save(self, user: UserInDB, keep_an_admin: bool = False) -> None:
        change = update(users).where(users.c.uid == user.uid).values(to_row(user))
        async with transaction() as connection:
            if keep_an_admin:
                # Lock the enabled admins' rows first (a write, which takes the write locks dialect.py
                # describes), so that two such changes run one after the other and the
                # second sees the first: two admins demoting each other cannot both succeed.
                await connection.execute(update(users).where(enabled_admins()).values(disabled=users.c.disabled))
                others = users.alias("others")
                change = change.where(exists().where(enabled_admins(others), others.c.uid != user.uid))
            result = await connection.execute(change)
            if result.rowcount == 0:
                found = await connection.scalar(select(users.c.id).where(users.c.uid == user.uid))
                raise NoSuchUser(user.username) if found is None else LastAdmin
        self._cache.put(user)

    async def delete(self, uid: str) -> None:
        async with transaction() as connection:  # its refresh tokens go with it (ON DELETE CASCADE)
            await connection.execute(delete(users).where(users.c.uid == uid))
        self._cache.forget(uid)

    async def list(self, offset: int = 0, limit: int = 100) -> list[UserInDB]:
        query = select(users).order_by(users.c.username).offset(offset).limit(limit)
        async with transaction() as connection:
            return [to_user(row) for row in await connection.execute(query)]


user_store: UserStore = SqlUserStore(cache_seconds=settings.user_cache_seconds)
