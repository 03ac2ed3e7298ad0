"""Audit events (audit.py) in the SQL database (tables.audit_events), shared by every process.
Events older than AUDIT_RETENTION_DAYS are deleted, at most once per CLEANUP_INTERVAL_SECONDS by
each process, as expired refresh tokens are."""

import time

import msgspec
from sqlalchemy import delete, insert, or_, select

from . import database
from .settings import settings
from .stores import AuditEvent, AuditQuery, AuditStore
from .tables import audit_events

CLEANUP_INTERVAL_SECONDS = 600
COLUMNS = [field.name for field in msgspec.structs.fields(AuditEvent)]


class SqlAuditStore:
    def __init__(self) -> None:
        self._next_cleanup = 0.0

    async def add(self, event: AuditEvent) -> None:
        async with database.transaction() as connection:
            await connection.execute(insert(audit_events).values(msgspec.structs.asdict(event)))
            if settings.audit_retention_days > 0 and time.monotonic() >= self._next_cleanup:
                self._next_cleanup = time.monotonic() + CLEANUP_INTERVAL_SECONDS
                await self.prune(connection)

    @staticmethod
    async def prune(connection) -> None:
        oldest = time.time() - settings.audit_retention_days * 86400
        await connection.execute(delete(audit_events).where(audit_events.c.time < oldest))

    async def find(self, query: AuditQuery, offset: int = 0, limit: int = 100) -> list[AuditEvent]:
        table = audit_events.c
        statement = select(*(table[name] for name in COLUMNS)).order_by(table.id.desc()).offset(offset).limit(limit)
        if query.user is not None:
            statement = statement.where(or_(table.actor_name == query.user, table.subject_name == query.user))
        if query.event is not None:
            statement = statement.where(table.event == query.event)
        if query.since is not None:
            statement = statement.where(table.time >= query.since)
        if query.until is not None:
            statement = statement.where(table.time < query.until)
        async with database.transaction() as connection:
            rows = (await connection.execute(statement)).all()
        return [AuditEvent(**row._mapping) for row in rows]


audit_store: AuditStore = SqlAuditStore()
