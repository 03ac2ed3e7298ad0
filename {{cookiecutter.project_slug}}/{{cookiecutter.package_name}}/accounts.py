"""Accounts: the rules of who may exist and log in, the same whichever way a change comes (the
API: login, sign-up, admin routes, password change; or the command line). Each checks the rules
(passwords.py, scopes.py, usernames below), saves through the store interfaces and ends
sessions (sessions.py) where it must.

Usernames are kept in one canonical form, so that one person has one name: NFKC (which maps
full-width and other compatibility forms to the plain letters) then case folding, as RFC 8265's
UsernameCaseMapped does, so `ALICE`, `Alice` and `alice` in full-width letters are all `alice`.
A new name may hold only ASCII letters, digits and . @ + - _ once in that form: no other
script, so no name can pass for another by looking alike (a Cyrillic `a` among Latin letters),
and the OpenAPI document states the very same pattern (models.py).
"""

import re
import time
import unicodedata
from contextlib import asynccontextmanager

import msgspec

from . import audit, sessions, throttle
from . import scopes as scope_names
from .backend import user_store
from .hashing import hash_password_in_thread, verify_password_in_thread
from .models import USERNAME_CHARACTERS, UserInDB
from .passwords import check_password
from .stores import UserExists

MAX_USERNAME_LENGTH = 150


class InvalidUsername(ValueError):
    pass


class BadCredentials(Exception):
    """A wrong password, an unknown user or a disabled one: one answer for all three."""


def canonical_username(username: str) -> str:
    """The one form a username is stored and compared in (any text: logins look names up by it)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def check_username(username: str) -> str:
    """The canonical form of a new username; InvalidUsername naming the rule it breaks."""
    name = canonical_username(username)
    # fullmatch, not the pattern's `$`, which would let a trailing newline through.
    if not (len(name) <= MAX_USERNAME_LENGTH and re.fullmatch(USERNAME_CHARACTERS, name)):
        raise InvalidUsername(
            f"the username must be 1 to {MAX_USERNAME_LENGTH} ASCII letters, digits and . @ + - _ (no spaces)"
        )
    return name


async def find(username: str) -> UserInDB | None:
    return await user_store.get(canonical_username(username))


async def authenticate(username: str, password: str, address: str, login: bool = True) -> UserInDB:
    """The user whose password this is, throttled per name and address (throttle.py: Throttled
    before any hashing); BadCredentials otherwise. `login`: a login (its success is recorded by
    sessions.start), not a check of the current password before a change."""
    name = canonical_username(username)
    try:
        async with throttle.attempt(name, address) as attempt:
            user = await find(username)
            # Unknown users are checked against a dummy hash, so the answer time does not tell them apart.
            password_ok = await verify_password_in_thread(password, user.hashed_password if user else None)
            if not password_ok or user is None or user.disabled:
                attempt.failed()
                raise BadCredentials
            attempt.succeeded()
    except BadCredentials:
        reason = "unknown user" if user is None else "disabled" if user.disabled else "wrong password"
        event = "login.failed" if login else "password.check_failed"
        await audit.record(event, user, subject_name=name, outcome="failure", detail=reason)
        raise
    except throttle.Throttled:
        await audit.record("login.throttled", subject_name=name, outcome="refused")
        raise
    return user


@asynccontextmanager
async def _creations_from(address: str | None):
    if address is None:  # the command line: an operator, not a stranger
        yield
    else:
        async with throttle.account_creation(address):
            yield


async def create_account(
    username: str,
    password: str,
    email: str | None = None,
    scopes: tuple[str, ...] = scope_names.DEFAULT_SCOPES,
    address: str | None = None,
    email_verified: bool = False,
) -> UserInDB:
    """Raises InvalidUsername, WeakPassword, InvalidScope, UserExists, or, from an `address`
    (sign-up, the admin route), Throttled past the creations it may make (throttle.py)."""
    name = check_username(username)
    check_password(password)
    granted = scope_names.known(scopes)
    async with _creations_from(address):
        if await user_store.get(name) is not None:  # a taken name costs no hash
            raise UserExists(name)
        now = time.time()
        user = UserInDB(
            username=name,
            email=email,
            email_verified=email_verified and email is not None,
            hashed_password=await hash_password_in_thread(password),
            scopes=granted,
            created_at=now,
            password_changed_at=now,
        )
        await user_store.create(user)
    # From an address with no signed-in actor: someone signed themselves up.
    context = audit.current.get()
    signed_up = address is not None and (context is None or context.actor_id is None)
    await audit.record("user.signed_up" if signed_up else "user.created", user, detail=f"scopes={' '.join(granted)}")
    return user


async def change_password(user: UserInDB, password: str) -> UserInDB:
    """New password (WeakPassword if it breaks a rule); every session and token of the user ends."""
    check_password(password)
    hashed = await hash_password_in_thread(password)
    changed = msgspec.structs.replace(user, hashed_password=hashed, password_changed_at=time.time())
    changed = await sessions.end_all(changed)
    await audit.record("password.changed", changed)
    return changed


async def update_account(
    user: UserInDB, disabled: bool | None = None, scopes: list[str] | None = None, email: str | None = None
) -> UserInDB:
    """Disable or enable, replace the allowed scopes (InvalidScope for an unknown one), and/or set
    a new e-mail address (unverified until its user follows a verification link).
    Disabling and taking a scope away end every session of the user: enabling again or giving
    the scope back revives none. LastAdmin (from the store) when no enabled admin would be left."""
    changes: dict = {}
    if scopes is not None:
        changes["scopes"] = scope_names.known(scopes)
    if disabled is not None:
        changes["disabled"] = disabled
    if email is not None and email != user.email:
        changes.update(email=email, email_verified=False)
    changed = msgspec.structs.replace(user, **changes)
    keep_an_admin = user.is_enabled_admin and not changed.is_enabled_admin
    if (changed.disabled and not user.disabled) or not set(user.scopes) <= set(changed.scopes):
        changed = await sessions.end_all(changed, keep_an_admin=keep_an_admin)
    else:
        await user_store.save(changed, keep_an_admin=keep_an_admin)
    await record_changes(user, changed)
    return changed


async def record_changes(before: UserInDB, after: UserInDB) -> None:
    if after.disabled != before.disabled:
        await audit.record("user.disabled" if after.disabled else "user.enabled", after)
    if after.scopes != before.scopes:
        change = f"{' '.join(before.scopes)} -> {' '.join(after.scopes)}"
        await audit.record("user.scopes_changed", after, detail=change)
    if after.disabled == before.disabled and after.scopes == before.scopes:
        await audit.record("user.changed", after, detail="no change")


async def sign_out_everywhere(user: UserInDB) -> UserInDB:
    """An admin ends every session of `user` (a stolen device, a leaked token)."""
    changed = await sessions.end_all(user)
    await audit.record("user.logout_all", changed)
    return changed


async def delete_account(user: UserInDB) -> None:
    """The user and their sessions go; LastAdmin for the last enabled admin."""
    if user.is_enabled_admin:  # disabling first keeps the last-admin rule in one place: the store
        await update_account(user, disabled=True)
    await user_store.delete(user.uid)
    await audit.record("user.deleted", user)
