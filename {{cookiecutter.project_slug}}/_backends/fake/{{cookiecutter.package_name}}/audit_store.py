"""Audit events (audit.py) in memory, for GET /audit-events: the newest MAX_EVENTS of this
process, gone at a restart. The log holds every one; generate the project with a SQL database
to keep them in the `audit_events` table, shared by every process."""

from collections import deque

from .stores import AuditEvent, AuditQuery, AuditStore

MAX_EVENTS = 10_000


def matches(event: AuditEvent, query: AuditQuery) -> bool:
    return (
        (query.user is None or query.user in (event.actor_name, event.subject_name))
        and (query.event is None or event.event == query.event)
        and (query.since is None or event.time >= query.since)
        and (query.until is None or event.time < query.until)
    )


class InMemoryAuditStore:
    def __init__(self) -> None:
        self._events: deque[AuditEvent] = deque(maxlen=MAX_EVENTS)

    async def add(self, event: AuditEvent) -> None:
        self._events.append(event)

    async def find(self, query: AuditQuery, offset: int = 0, limit: int = 100) -> list[AuditEvent]:
        found = (event for event in reversed(self._events) if matches(event, query))
        return [event for index, event in enumerate(found) if offset <= index < offset + limit]


audit_store: AuditStore = InMemoryAuditStore()
