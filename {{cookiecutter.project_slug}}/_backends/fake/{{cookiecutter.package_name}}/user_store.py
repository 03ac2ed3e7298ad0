"""The fake user DB: users kept in this file, behind the store interface (stores.py).

For a real database, generate the project again with `database=sqlite` or `database=postgresql`:
the rest of the code reads users only through `user_store`, so nothing else changes.
"""

from .models import UserInDB
from .stores import NoSuchUser, UserExists, UserStore


class InMemoryUserStore:
    def __init__(self, *users: UserInDB) -> None:
        self._users = {user.username: user for user in users}

    async def get(self, username: str) -> UserInDB | None:
        return self._users.get(username)

    # Memory is the truth and costs nothing to read: there is nothing to cache.
    get_cached = get

    async def create(self, user: UserInDB) -> None:
        if user.username in self._users:
            raise UserExists(user.username)
        self._users[user.username] = user

    async def save(self, user: UserInDB) -> None:
        if user.username not in self._users:
            raise NoSuchUser(user.username)
        self._users[user.username] = user

    async def delete(self, username: str) -> None:
        self._users.pop(username, None)

    async def list(self, offset: int = 0, limit: int = 100) -> list[UserInDB]:
        return [self._users[name] for name in sorted(self._users)][offset : offset + limit]


fake_users_db = InMemoryUserStore(
    UserInDB(
        username="alice",
        email="alice@example.com",
        # hash_password("secret"): the seed's demo password. Replace before real use.
        hashed_password="$bcrypt-sha256$v=2,t=2b,r=12$qQOurd9Ti6ly9QqIhjOTke$dJdMoOsDuJNY/YNO7qPgPYywq1c.NNS",
        # What her tokens may carry (scopes.py). Add "admin" to let her use the admin routes.
        scopes=("me", "items"),
    ),
)

user_store: UserStore = fake_users_db
