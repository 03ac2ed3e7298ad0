"""The fake user DB: users kept in this file, behind the store interface (stores.py).

For a real database, generate the project again with `database=sqlite` or `database=postgresql`:
the rest of the code reads users only through `user_store`, so nothing else changes.
"""

from .models import UserInDB
from .refresh_store import refresh_store
from .stores import LastAdmin, NoSuchUser, UserExists, UserStore


class InMemoryUserStore:
    """No method awaits between reading and writing: each runs whole, as a transaction would."""

    def __init__(self, *users: UserInDB) -> None:
        self._users = {user.uid: user for user in users}

    async def get(self, username: str) -> UserInDB | None:
        return next((user for user in self._users.values() if user.username == username), None)

    async def get_by_email(self, email: str) -> UserInDB | None:
        wanted = email.casefold()
        return next((user for user in self._users.values() if (user.email or "").casefold() == wanted), None)

    async def get_by_id(self, uid: str) -> UserInDB | None:
        return self._users.get(uid)

    def cached(self, uid: str) -> UserInDB | None:
        return self._users.get(uid)  # memory is the truth here: nothing is ever stale

    async def create(self, user: UserInDB) -> None:
        if await self.get(user.username) is not None:
            raise UserExists(user.username)
        self._users[user.uid] = user

    async def save(self, user: UserInDB, keep_an_admin: bool = False) -> None:
        if user.uid not in self._users:
            raise NoSuchUser(user.username)
        others = (other for uid, other in self._users.items() if uid != user.uid)
        if keep_an_admin and not any(other.is_enabled_admin for other in others):
            raise LastAdmin
        self._users[user.uid] = user

    async def delete(self, uid: str) -> None:
        self._users.pop(uid, None)
        await refresh_store.revoke_user(uid)

    async def list(self, offset: int = 0, limit: int = 100) -> list[UserInDB]:
        return sorted(self._users.values(), key=lambda user: user.username)[offset : offset + limit]


fake_users_db = InMemoryUserStore(
    UserInDB(
        username="alice",
        uid="alice-0000000000000000000",  # any fixed text: her tokens survive a restart
        email="alice@example.com",
        # hash_password("secret"): the seed's demo password. Replace before real use.
        hashed_password="$bcrypt-sha256$v=2,t=2b,r=12$qQOurd9Ti6ly9QqIhjOTke$dJdMoOsDuJNY/YNO7qPgPYywq1c.NNS",
        # What her tokens may carry (scopes.py). Add "admin" to let her use the admin routes.
        scopes=("me", "items"),
    ),
)

user_store: UserStore = fake_users_db
