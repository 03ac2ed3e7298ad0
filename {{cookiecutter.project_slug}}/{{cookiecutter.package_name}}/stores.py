"""What every storage backend provides: the user store, the refresh-token store and the store
of login-throttling counters.

The backend this project was generated with implements them in user_store.py, refresh_store.py
and throttle_store.py; routes and the command line use only the methods below.
"""

from collections.abc import Callable, Collection
from typing import Literal, Protocol

import msgspec

from .models import AuditEvent, UserInDB

State = Literal["active", "spent", "revoked"]


class StoreUnavailable(Exception):
    """The database did not answer, or failed: the request gets 503 and may be retried."""


class UserExists(Exception):
    """A user with that username exists already."""


class NoSuchUser(Exception):
    """No user has that username or id."""


class LastAdmin(Exception):
    """The change would leave no enabled user with the admin scope: nobody could manage users."""

    def __str__(self) -> str:
        return "that would leave no enabled user with the admin scope: give another user admin first"


class RefreshRecord(msgspec.Struct):
    jti: str
    family: str  # every token issued from one login shares it
    user_id: str  # UserInDB.uid
    expires_at: int
    state: State = "active"
    # The token's `iat` and its `scope` (its login's): with the other fields they re-create the
    # very same token string.
    issued_at: int = 0
    scope: str = ""
    # Set when the token is spent: when, and the jti of the token issued in its place.
    spent_at: float | None = None
    replaced_by: str | None = None


class UserStore(Protocol):
    async def get(self, username: str) -> UserInDB | None:
        """The user of a (canonical) username as stored now: for logins and the admin routes."""
        ...

    async def get_by_email(self, email: str) -> UserInDB | None:
        """A user whose e-mail is `email`, compared without regard to case; None if nobody's."""
        ...

    async def get_by_id(self, uid: str) -> UserInDB | None:
        """The user of an id as stored now: for refreshes and every check that must not be stale."""
        ...

    def cached(self, uid: str) -> UserInDB | None:
        """The user of an id from this process's memory, possibly USER_CACHE_SECONDS old, or None
        when it is not there (then ask get_by_id): for the checks on every request, so not async."""
        ...

    async def create(self, user: UserInDB) -> None:
        """Add a new user; UserExists if the username is taken."""
        ...

    async def save(self, user: UserInDB, keep_an_admin: bool = False) -> None:
        """Replace the stored user of that id; NoSuchUser if there is none. With keep_an_admin
        (the change takes an enabled admin's admin away), LastAdmin instead of saving when no
        other enabled admin exists, decided atomically: two admins demoting each other at once
        cannot both succeed."""
        ...

    async def delete(self, uid: str) -> None:
        """Remove the user and their refresh tokens; their id is never given to anyone else."""
        ...

    async def list(self, offset: int = 0, limit: int = 100) -> list[UserInDB]:
        """Users in username order."""
        ...


class RefreshStore(Protocol):
    async def add(self, record: RefreshRecord) -> None: ...

    async def rotate(self, jti: str, successor: RefreshRecord) -> bool:
        """Spend token `jti` and record `successor` in its place, atomically. False (and nothing
        recorded) when `jti` is not active: unknown, spent already, or revoked."""
        ...

    async def successor_spent_since(self, jti: str, since: float) -> RefreshRecord | None:
        """The token that replaced `jti`, if `jti` was spent at `since` or later and that
        successor is still active (so `jti` is the live token's immediate predecessor); else None."""
        ...

    async def revoke_family(self, family: str) -> None: ...

    async def revoke_user(self, user_id: str) -> None:
        """Revoke every refresh token of the user, whatever login it came from."""
        ...


class ThrottleCounter(msgspec.Struct, frozen=True):
    """Login attempts under one throttling key (a username and address, or an address)."""

    failures: int = 0  # since window_start
    in_flight: int = 0  # password checks admitted and not finished
    window_start: float = 0.0  # Unix time the count started
    blocked_until: float = 0.0  # no attempt is admitted before this Unix time


# Reads the counters found (missing keys are absent) and returns those to write: None deletes.
CounterChange = Callable[[dict[str, ThrottleCounter]], dict[str, ThrottleCounter | None]]


class ThrottleStore(Protocol):
    async def update(self, keys: Collection[str], change: CounterChange) -> None:
        """Apply `change` to the counters of `keys` atomically: no other update of these keys,
        in any process, runs between the read and the write."""
        ...

    async def forget(self, started_before: float, now: float) -> None:
        """Delete the counters whose window started before `started_before` and that block nothing."""
        ...


class OneTimeTokenRecord(msgspec.Struct, frozen=True):
    """A reset or verification token as stored (recovery.py): only the SHA-256 of the token."""

    digest: str  # hex SHA-256 of the token the mail carried
    user_id: str  # UserInDB.uid
    purpose: str  # what it may be used for, and nothing else
    expires_at: float
    # What the token was issued against: a password change voids a reset token, a new e-mail a
    # verification token.
    password_changed_at: float = 0.0
    email: str | None = None


class OneTimeTokenStore(Protocol):
    async def replace(self, record: OneTimeTokenRecord) -> None:
        """Store `record` and delete every other token of its user and purpose: a newer voids older."""
        ...

    async def take(self, digest: str, purpose: str) -> OneTimeTokenRecord | None:
        """Delete and return the token of that digest and purpose, atomically: of two takes at once
        only one gets it. None when there is none (unknown, used, voided)."""
        ...

    async def void(self, user_id: str, purpose: str) -> None:
        """Delete every token of the user for that purpose."""
        ...

    async def forget(self, now: float) -> None:
        """Delete the expired tokens."""
        ...


class OutgoingMail(msgspec.Struct, frozen=True):
    """A mail waiting in the outbox (mail.py) until the sender delivers it."""

    id: str
    to: str
    subject: str
    text: str
    html: str
    expires_at: float  # when its link stops working: past it, the mail is dropped unsent
    attempts: int = 0
    next_attempt_at: float = 0.0


class Outbox(Protocol):
    async def add(self, mail: OutgoingMail) -> None: ...

    async def claim(self, now: float, lease_seconds: float, limit: int) -> list[OutgoingMail]:
        """Mails due by `now`, each claimed for `lease_seconds` (its next_attempt_at moved on), so
        that the sender of another process does not send it too meanwhile."""
        ...

    async def retry_at(self, mail_id: str, attempts: int, when: float) -> None: ...

    async def remove(self, mail_id: str) -> None:
        """Sent, or given up: the mail (and the token in it) is gone."""


class AuditQuery(msgspec.Struct, frozen=True):
    """Which events GET /audit-events and `audit tail` want: all filters optional."""

    user: str | None = None  # a canonical username, as actor or subject
    event: str | None = None
    since: float | None = None  # Unix seconds, inclusive
    until: float | None = None  # Unix seconds, exclusive


class AuditStore(Protocol):
    async def add(self, event: AuditEvent) -> None: ...

    async def find(self, query: AuditQuery, offset: int = 0, limit: int = 100) -> list[AuditEvent]:
        """Events matching `query`, newest first."""
        ...
