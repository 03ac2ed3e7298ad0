"""Changes to accounts, the same whichever way they come: the API (sign-up, admin routes, password
change, sign out everywhere) or the command line. Each checks the rules (passwords.py, scopes.py,
the username pattern), saves through the store interfaces and ends sessions where it must."""

import re
import time

import msgspec

from . import scopes as scope_names
from .models import USERNAME_CHARACTERS, UserInDB
from .passwords import WeakPassword, check_password
from .refresh_store import refresh_store
from .security import hash_password_in_thread, revocation_cutoff
from .user_store import user_store

MAX_USERNAME_LENGTH = 150


class InvalidUsername(ValueError):
    pass


# What a change refused for breaking a rule raises: each message says which rule, in a line.
BROKEN_RULES = (InvalidUsername, WeakPassword, scope_names.InvalidScope)


def check_username(username: str) -> None:
    # fullmatch, not the pattern's `$`, which would let a trailing newline through.
    if not (len(username) <= MAX_USERNAME_LENGTH and re.fullmatch(USERNAME_CHARACTERS, username)):
        raise InvalidUsername(
            f"the username must be 1 to {MAX_USERNAME_LENGTH} ASCII letters, digits and . @ + - _ (no spaces)"
        )


async def create_account(
    username: str, password: str, email: str | None = None, scopes: tuple[str, ...] = scope_names.DEFAULT_SCOPES
) -> UserInDB:
    """Raises InvalidUsername, WeakPassword, InvalidScope, or UserExists (from the store)."""
    check_username(username)
    check_password(password)
    granted = scope_names.known(scopes)
    now = time.time()
    user = UserInDB(
        username=username,
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
    return await end_sessions(changed)


async def end_sessions(user: UserInDB) -> UserInDB:
    """Sign out everywhere: every refresh token revoked, every access token issued until now refused
    (in this process at once; in others within USER_CACHE_SECONDS, as for disabling a user)."""
    changed = msgspec.structs.replace(user, tokens_valid_from=max(user.tokens_valid_from, revocation_cutoff()))
    await user_store.save(changed)
    await refresh_store.revoke_user(user.username)
    return changed


async def update_account(user: UserInDB, disabled: bool | None = None, scopes: list[str] | None = None) -> UserInDB:
    """Disable or enable, and/or replace the allowed scopes (InvalidScope for an unknown one).
    Disabling ends the user's refresh tokens; a removed scope leaves their tokens at the next refresh."""
    changes: dict = {}
    if scopes is not None:
        changes["scopes"] = scope_names.known(scopes)
    if disabled is not None:
        changes["disabled"] = disabled
    changed = msgspec.structs.replace(user, **changes)
    await user_store.save(changed)
    if changed.disabled and not user.disabled:
        await refresh_store.revoke_user(user.username)
    return changed
