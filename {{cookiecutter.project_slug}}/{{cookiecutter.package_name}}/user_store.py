"""The fake user DB, behind the small interface the rest of the code uses.

To use a real database, write a class with the same two methods (for example over SQLAlchemy's
async session or asyncpg) and assign an instance of it to `user_store` at the bottom of this
file. Nothing else needs to change.
"""

from typing import Protocol

from .models import UserInDB


class UserStore(Protocol):
    async def get(self, username: str) -> UserInDB | None: ...

    async def save(self, user: UserInDB) -> None: ...


class InMemoryUserStore:
    def __init__(self, *users: UserInDB) -> None:
        self._users = {user.username: user for user in users}

    async def get(self, username: str) -> UserInDB | None:
        return self._users.get(username)

    async def save(self, user: UserInDB) -> None:
        self._users[user.username] = user


fake_users_db = InMemoryUserStore(
    UserInDB(
        username="alice",
        email="alice@example.com",
        # hash_password("secret"): the seed's demo password. Replace before real use.
        hashed_password="$bcrypt-sha256$v=2,t=2b,r=12$qQOurd9Ti6ly9QqIhjOTke$dJdMoOsDuJNY/YNO7qPgPYywq1c.NNS",
    ),
)

user_store: UserStore = fake_users_db
