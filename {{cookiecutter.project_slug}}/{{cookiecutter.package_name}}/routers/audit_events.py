"""The audit trail (audit.py), for tokens with the `admin` scope: newest first, filtered by user
(as actor or subject), event and time, `limit` at a time from `offset`."""

from FasterAPI import Depends, FasterRouter, Request

from .. import accounts
from ..audit import EVENTS
from ..backend import audit_store
from ..dependencies import invalid_field, query_value, require_scopes
from ..models import AuditPage, User
from ..openapi import INVALID_BODY, body
from ..stores import AuditQuery
from .admin import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, PAGE_PARAMETERS, query_int

router = FasterRouter(tags=["admin"])

MAX_TIME = 2**40  # far past any real time, and within every database's float
UNIX_TIME = {"type": "number", "minimum": 0, "maximum": MAX_TIME}
FILTERS = [
    {"name": "user", "in": "query", "schema": {"type": "string"}, "description": "A username, as actor or subject"},
    {"name": "event", "in": "query", "schema": {"type": "string", "enum": list(EVENTS)}},
    {"name": "since", "in": "query", "schema": UNIX_TIME, "description": "Unix seconds, inclusive"},
    {"name": "until", "in": "query", "schema": UNIX_TIME, "description": "Unix seconds, exclusive"},
]


def query_time(request: Request, name: str) -> float | None:
    value = query_value(request, name)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_TIME:  # also refuses nan and inf
        raise invalid_field(name, f"{name} must be a time in Unix seconds", where="query")
    return seconds


def audit_query(request: Request) -> AuditQuery:
    event, user = query_value(request, "event"), query_value(request, "user")
    if event is not None and event not in EVENTS:
        raise invalid_field("event", f"event must be one of: {', '.join(EVENTS)}", where="query")
    return AuditQuery(
        user=None if user is None else accounts.canonical_username(user),
        event=event,
        since=query_time(request, "since"),
        until=query_time(request, "until"),
    )


@router.get(
    "/audit-events",
    responses={200: body(AuditPage), 422: INVALID_BODY},
    openapi_extra={"parameters": FILTERS + PAGE_PARAMETERS},
)
async def list_audit_events(request: Request, current_user: User = Depends(require_scopes("admin"))) -> AuditPage:
    """Security events, newest first."""
    query = audit_query(request)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    limit = query_int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    events = await audit_store.find(query, offset=offset, limit=limit + 1)  # one more: is there a next page?
    next_offset = offset + limit if len(events) > limit else None
    return AuditPage(events=events[:limit], next_offset=next_offset)
