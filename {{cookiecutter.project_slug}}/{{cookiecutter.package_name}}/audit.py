"""The security audit trail: one structured record per event, written to the log (logger
`<package>.audit`, every LOG_FORMAT) and to the backend's audit store (the `audit_events` table
with a SQL database, a bounded memory with the fake one), which GET /audit-events reads.

Services call `record` where the event happens (accounts.py, sessions.py); the request id, the
client address and the actor come from the request's context (request_context.py), so routers
pass nothing. A record never holds a secret: no password, token, cookie or hash, only names, ids
and addresses. Nothing here runs on a protected route that only reads (GET /users/me).
"""

import contextlib
import logging
import time

import msgspec

from . import metrics
from .models import UserInDB
from .request_context import current
from .stores import AuditEvent, StoreUnavailable

logger = logging.getLogger(__name__)

# Every event name, for the README, the route's filter and the tests.
EVENTS = (
    "login.succeeded",
    "login.failed",
    "login.throttled",
    "session.refreshed",
    "session.reuse_detected",
    "session.logout",
    "session.logout_all",
    "password.check_failed",
    "password.changed",
    "user.signed_up",
    "user.created",
    "user.changed",
    "user.disabled",
    "user.enabled",
    "user.scopes_changed",
    "user.logout_all",
    "user.deleted",
    "database.unavailable",
)


def event_of(
    event: str, subject: UserInDB | None, subject_name: str | None, outcome: str, actor: UserInDB | None, detail: str
) -> AuditEvent:
    context = current.get()
    actor_id = actor.uid if actor else context.actor_id if context else None
    actor_name = actor.username if actor else context.actor_name if context else None
    return AuditEvent(
        event=event,
        time=time.time(),
        outcome=outcome,
        actor_id=actor_id,
        actor_name=actor_name,
        subject_id=subject.uid if subject else None,
        subject_name=subject.username if subject else subject_name,
        address=context.address if context else None,
        request_id=context.request_id if context else None,
        detail=detail,
    )


def log(entry: AuditEvent) -> None:
    metrics.audit_events.labels(entry.event, entry.outcome).inc()
    if entry.event.startswith("login."):
        metrics.logins.labels(entry.event.removeprefix("login.")).inc()
    logger.info(entry.event, extra={"audit": True, **msgspec.structs.asdict(entry)})


async def record(
    event: str,
    subject: UserInDB | None = None,
    *,
    subject_name: str | None = None,
    outcome: str = "success",
    actor: UserInDB | None = None,
    detail: str = "",
) -> None:
    """Log the event and keep it in the audit store. A store that is down loses the stored copy
    only: the log line is written first, and the request goes on."""
    entry = event_of(event, subject, subject_name, outcome, actor, detail)
    log(entry)
    # Imported here, not above: the database module records its own failures through this one.
    from .backend import audit_store

    with contextlib.suppress(StoreUnavailable):  # logged as database.unavailable where it failed
        await audit_store.add(entry)
