"""Accounts: the rules of who may exist and log in, the same whichever way a change comes (the
API: login, sign-up, admin routes, password change; or the command line). Each checks the rules
(passwords.py, scopes.py, usernames below), saves through the store interfaces and ends
sessions (sessions.py) where it must.

Usernames are kept in one canonical form, so that one person has one name: `ALICE`, `Alice`
and `alice` in full-width letters are all `alice` (RFC 8265's UsernameCaseMapped idea: width
mapping, NFKC, case folding). A new name may hold letters of ONE script, the digits 0-9 and
. @ + - _; names mixing scripts (a Cyrillic `a` among Latin letters) are refused, so no name
can pass for another.
"""

import time
import unicodedata
from contextlib import asynccontextmanager

import msgspec

from . import scopes as scope_names
from . import sessions, throttle
from .backend import user_store
from .hashing import hash_password_in_thread, verify_password_in_thread
from .models import UserInDB
from .passwords import check_password
from .stores import UserExists

MAX_USERNAME_LENGTH = 150
ALLOWED_MARKS = frozenset("0123456789.@+-_")
# Scripts that one language writes together: Japanese mixes these three.
SCRIPT_GROUPS = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "KATAKANA-HIRAGANA": "CJK"}


class InvalidUsername(ValueError):
    pass


class BadCredentials(Exception):
    """A wrong password, an unknown user or a disabled one: one answer for all three."""


def canonical_username(username: str) -> str:
    """The one form a username is stored and compared in (any text: logins look names up by it)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def script_of(character: str) -> str:
    name = unicodedata.name(character, "UNKNOWN")
    script = name.split()[0]
    return SCRIPT_GROUPS.get(script, script)


def check_username(username: str) -> str:
    """The canonical form of a new username; InvalidUsername naming the rule it breaks."""
    name = canonical_username(username)
    letters = [c for c in name if c not in ALLOWED_MARKS]
    # Letters (L) and the marks some scripts write letters with (M, e.g. Devanagari's vowel signs).
    if not (0 < len(name) <= MAX_USERNAME_LENGTH) or not all(unicodedata.category(c)[0] in "LM" for c in letters):
        raise InvalidUsername(
            f"the username must be 1 to {MAX_USERNAME_LENGTH} letters, digits 0-9 and . @ + - _ (no spaces)"
        )
    if len({script_of(c) for c in letters if unicodedata.category(c)[0] == "L"}) > 1:
        raise InvalidUsername("the username mixes letters of different scripts: use one script")
    return name


async def find(username: str) -> UserInDB | None:
    return await user_store.get(canonical_username(username))


async def authenticate(username: str, password: str, address: str) -> UserInDB:
    """The user whose password this is, throttled per name and address (throttle.py: Throttled
    before any hashing); BadCredentials otherwise."""
    async with throttle.attempt(canonical_username(username), address) as attempt:
        user = await find(username)
        # Unknown users are checked against a dummy hash, so the answer time does not tell them apart.
        password_ok = await verify_password_in_thread(password, user.hashed_password if user else None)
        if not password_ok or user is None or user.disabled:
            attempt.failed()
            raise BadCredentials
        attempt.succeeded()
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
            hashed_password=await hash_password_in_thread(password),
            scopes=granted,
            created_at=now,
            password_changed_at=now,
        )
        await user_store.create(user)
    return user


async def change_password(user: UserInDB, password: str) -> UserInDB:
    """New password (WeakPassword if it breaks a rule); every session and token of the user ends."""
    check_password(password)
    hashed = await hash_password_in_thread(password)
    changed = msgspec.structs.replace(user, hashed_password=hashed, password_changed_at=time.time())
    return await sessions.end_all(changed)


async def update_account(user: UserInDB, disabled: bool | None = None, scopes: list[str] | None = None) -> UserInDB:
    """Disable or enable, and/or replace the allowed scopes (InvalidScope for an unknown one).
    Disabling and taking a scope away end every session of the user: enabling again or giving
    the scope back revives none. LastAdmin (from the store) when no enabled admin would be left."""
    changes: dict = {}
    if scopes is not None:
        changes["scopes"] = scope_names.known(scopes)
    if disabled is not None:
        changes["disabled"] = disabled
    changed = msgspec.structs.replace(user, **changes)
    keep_an_admin = user.is_enabled_admin and not changed.is_enabled_admin
    if (changed.disabled and not user.disabled) or not set(user.scopes) <= set(changed.scopes):
        return await sessions.end_all(changed, keep_an_admin=keep_an_admin)
    await user_store.save(changed, keep_an_admin=keep_an_admin)
    return changed


async def delete_account(user: UserInDB) -> None:
    """The user and their sessions go; LastAdmin for the last enabled admin."""
    if user.is_enabled_admin:  # disabling first keeps the last-admin rule in one place: the store
        await update_account(user, disabled=True)
    await user_store.delete(user.uid)
