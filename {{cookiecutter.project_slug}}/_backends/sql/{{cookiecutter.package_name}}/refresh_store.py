"""Refresh tokens in the SQL database (tables.refresh_tokens), shared by every process.

Spending a token is one conditional UPDATE: of two requests (in any processes) that present the
same token, only one finds it active, so only one gets a successor.
"""

import time

from sqlalchemy import delete, insert, select, update

from .database import transaction
from .stores import RefreshRecord, RefreshStore
from .tables import refresh_tokens, users

# Expired rows are deleted at most this often by each process (their tokens are refused by
# the signature check already): the table holds live logins, not history.
CLEANUP_INTERVAL_SECONDS = 600


def row_of(record: RefreshRecord) -> dict:
    user_id = select(users.c.id).where(users.c.uid == record.user_id).scalar_subquery()
    return {
        "jti": record.jti,
        "family": record.family,
        "user_id": user_id,
        "expires_at": record.expires_at,
        "state": record.state,
        "issued_at": record.issued_at,
        "scope": record.scope,
    }


class SqlRefreshStore:
    def __init__(self) -> None:
        self._next_cleanup = 0.0

    async def add(self, record: RefreshRecord) -> None:
        async with transaction() as connection:
            await connection.execute(insert(refresh_tokens).values(row_of(record)))
            if time.monotonic() >= self._next_cleanup:
                self._next_cleanup = time.monotonic() + CLEANUP_INTERVAL_SECONDS
                await connection.execute(delete(refresh_tokens).where(refresh_tokens.c.expires_at < time.time()))

    async def rotate(self, jti: str, successor: RefreshRecord) -> bool:
        spend = (
            update(refresh_tokens)
            .where(refresh_tokens.c.jti == jti, refresh_tokens.c.state == "active")
            .values(state="spent", spent_at=time.time(), replaced_by=successor.jti)
            .returning(refresh_tokens.c.jti)
        )
        async with transaction() as connection:
            if (await connection.execute(spend)).first() is None:
                return False
            await connection.execute(insert(refresh_tokens).values(row_of(successor)))
        return True

    async def successor_spent_since(self, jti: str, since: float) -> RefreshRecord | None:
        spent, successor = refresh_tokens.alias("spent"), refresh_tokens.alias("successor")
        query = (
            select(successor, users.c.uid)
            .select_from(spent.join(successor, successor.c.jti == spent.c.replaced_by))
            .join(users, users.c.id == successor.c.user_id)
            .where(spent.c.jti == jti, spent.c.state == "spent", spent.c.spent_at >= since)
            .where(successor.c.state == "active", successor.c.issued_at.is_not(None))
        )
        async with transaction() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        return RefreshRecord(row.jti, row.family, row.uid, row.expires_at, issued_at=row.issued_at, scope=row.scope)

    async def revoke_family(self, family: str) -> None:
        await self._revoke_where(refresh_tokens.c.family == family)

    async def revoke_user(self, user_id: str) -> None:
        user_id = select(users.c.id).where(users.c.uid == user_id).scalar_subquery()
        await self._revoke_where(refresh_tokens.c.user_id == user_id)

    async def _revoke_where(self, condition) -> None:
        async with transaction() as connection:
            await connection.execute(update(refresh_tokens).where(condition).values(state="revoked"))


refresh_store: RefreshStore = SqlRefreshStore()
