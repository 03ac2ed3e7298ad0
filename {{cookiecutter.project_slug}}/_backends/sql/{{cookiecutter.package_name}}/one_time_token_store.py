"""Reset and verification tokens (recovery.py) in the SQL database (tables.one_time_tokens):
only their SHA-256. Taking one is one DELETE ... RETURNING: of two uses at once, one gets it."""

from sqlalchemy import delete, insert, select

from .database import transaction
from .stores import OneTimeTokenRecord, OneTimeTokenStore
from .tables import one_time_tokens, users


class SqlOneTimeTokenStore:
    async def replace(self, record: OneTimeTokenRecord) -> None:
        user_id = select(users.c.id).where(users.c.uid == record.user_id).scalar_subquery()
        async with transaction() as connection:
            await connection.execute(
                delete(one_time_tokens).where(
                    one_time_tokens.c.user_id == user_id, one_time_tokens.c.purpose == record.purpose
                )
            )
            await connection.execute(
                insert(one_time_tokens).values(
                    digest=record.digest,
                    user_id=user_id,
                    purpose=record.purpose,
                    expires_at=record.expires_at,
                    password_changed_at=record.password_changed_at,
                    email=record.email,
                )
            )

    async def take(self, digest: str, purpose: str) -> OneTimeTokenRecord | None:
        spend = (
            delete(one_time_tokens)
            .where(one_time_tokens.c.digest == digest, one_time_tokens.c.purpose == purpose)
            .returning(
                one_time_tokens.c.expires_at,
                one_time_tokens.c.user_id,
                one_time_tokens.c.password_changed_at,
                one_time_tokens.c.email,
            )
        )
        async with transaction() as connection:
            row = (await connection.execute(spend)).first()
            if row is None:
                return None
            uid = await connection.scalar(select(users.c.uid).where(users.c.id == row.user_id))
        if uid is None:
            return None
        return OneTimeTokenRecord(
            digest, uid, purpose, row.expires_at, password_changed_at=row.password_changed_at, email=row.email
        )

    async def void(self, user_id: str, purpose: str) -> None:
        owner = select(users.c.id).where(users.c.uid == user_id).scalar_subquery()
        async with transaction() as connection:
            await connection.execute(
                delete(one_time_tokens).where(one_time_tokens.c.user_id == owner, one_time_tokens.c.purpose == purpose)
            )

    async def forget(self, now: float) -> None:
        async with transaction() as connection:
            await connection.execute(delete(one_time_tokens).where(one_time_tokens.c.expires_at <= now))


one_time_token_store: OneTimeTokenStore = SqlOneTimeTokenStore()
