"""Account recovery by e-mail: password reset and e-mail verification, and the rules of the
one-time tokens both mail (routers/recovery.py does the HTTP).

A one-time token is 32 random bytes (URL-safe base64 in the link); the store keeps only its
SHA-256. Each has one purpose (a reset token cannot verify an address, nor the other way round),
works until it expires (PASSWORD_RESET_MINUTES, EMAIL_VERIFICATION_MINUTES) and only once (taking
it deletes it). A newer token of a user and purpose voids the older ones; a password change voids
a reset token, and a new e-mail address a verification token (each records what it was issued
against). Links carry the token in the fragment (`#token=...`), which browsers never send to a
server, so it stays out of access logs; the page posts it back.

Reset requests answer the same whether or not the address is anyone's: the route answers before
this module looks the address up (`request_reset` runs after the answer). They are throttled per
client address and per e-mail address asked about (429), and an account gets at most
RECOVERY_MAILS_PER_ACCOUNT mails an hour (past that, no mail, still the same answer).
"""

import asyncio
import hashlib
import logging
import secrets
import time

import msgspec

from . import accounts, mail, sessions
from .backend import one_time_token_store, throttle_store, user_store
from .hashing import Overloaded, hash_password_in_thread
from .models import UserInDB
from .passwords import check_password
from .settings import settings
from .stores import OneTimeTokenRecord, ThrottleCounter
from .throttle import Throttled, login_throttle

logger = logging.getLogger(__name__)

PASSWORD_RESET = "password_reset"
VERIFY_EMAIL = "verify_email"
HOUR = 3600.0


class TokenRefused(Exception):
    """Unknown, used, voided, expired or of another purpose: one answer for all (400)."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def issue(user: UserInDB, purpose: str, minutes: float) -> tuple[str, float]:
    """A new token of `purpose` for `user`, voiding their older ones; the token and its expiry."""
    token = secrets.token_urlsafe(32)
    expires_at = time.time() + minutes * 60
    record = OneTimeTokenRecord(
        digest(token), user.uid, purpose, expires_at, password_changed_at=user.password_changed_at, email=user.email
    )
    await one_time_token_store.forget(time.time())
    await one_time_token_store.replace(record)
    return token, expires_at


async def redeem(token: str, purpose: str) -> tuple[UserInDB, OneTimeTokenRecord]:
    """The user of a good token of `purpose`, and its record; the token is spent. TokenRefused otherwise."""
    record = await one_time_token_store.take(digest(token), purpose)
    if record is None or record.expires_at <= time.time():
        raise TokenRefused
    user = await user_store.get_by_id(record.user_id)
    if user is None or user.disabled:
        raise TokenRefused
    if purpose == PASSWORD_RESET and user.password_changed_at != record.password_changed_at:
        raise TokenRefused  # the password changed since: the link was for the old one
    if purpose == VERIFY_EMAIL and user.email != record.email:
        raise TokenRefused  # sent to an address the user no longer has
    return user, record


async def count(key: str, limit: int) -> bool:
    """Count one event under `key`; False when `limit` were counted within the hour already."""
    now = time.time()
    allowed = True

    def change(found: dict[str, ThrottleCounter]) -> dict[str, ThrottleCounter | None]:
        nonlocal allowed
        counter = found.get(key, ThrottleCounter())
        if counter.window_start + HOUR <= now:
            counter = ThrottleCounter(window_start=now)
        if counter.failures >= limit:
            allowed = False
            return {}
        # At the limit, the counter blocks until its hour is over, so it is kept that long.
        blocked_until = counter.window_start + HOUR if counter.failures + 1 >= limit else 0.0
        return {key: msgspec.structs.replace(counter, failures=counter.failures + 1, blocked_until=blocked_until)}

    await throttle_store.update([key], change)
    return allowed


async def admit_request(kind: str, email: str, address: str) -> None:
    """Throttled (429) past the requests allowed per client address and per e-mail address; the
    same whether or not the address is anyone's."""
    per_address = await count(login_throttle.digest(kind, "address", address), settings.recovery_requests_per_address)
    per_email = await count(login_throttle.digest(kind, "email", email.lower()), settings.recovery_requests_per_email)
    if not (per_address and per_email):
        raise Throttled(HOUR, "Too many requests for recovery mails: try again later")


async def may_mail(user: UserInDB) -> bool:
    return await count(login_throttle.digest("mails", user.uid), settings.recovery_mails_per_account)


def link(page: str, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/{page}#token={token}"


async def mail_link(user: UserInDB, purpose: str, minutes: float, subject: str, template: str, page: str) -> None:
    """A new token of `purpose` for the user (older ones void), mailed as a link to `page`."""
    token, expires_at = await issue(user, purpose, minutes)
    fields = {"username": user.username, "link": link(page, token), "minutes": f"{minutes:g}"}
    await mail.queue(user.email, subject, template, expires_at, **fields)


async def request_reset(email: str) -> None:
    """Mail a reset link to the enabled user of `email`, if there is one and it may get mail."""
    user = await user_store.get_by_email(email)
    if user is None or user.disabled or not await may_mail(user):
        return
    minutes = settings.password_reset_minutes
    await mail_link(user, PASSWORD_RESET, minutes, "Reset your password", "password_reset", "reset-password")


async def reset_password(token: str, new_password: str) -> None:
    """Set the password of the token's user (WeakPassword first if it breaks a rule, TokenRefused);
    every session and access token of the user ends."""
    check_password(new_password)
    user, record = await redeem(token, PASSWORD_RESET)
    try:
        hashed = await hash_password_in_thread(new_password)
    except Overloaded:
        await one_time_token_store.replace(record)  # not used after all: the link works again shortly
        raise
    changed = msgspec.structs.replace(user, hashed_password=hashed, password_changed_at=time.time())
    await sessions.end_all(changed)


async def send_verification(user: UserInDB) -> bool:
    """Mail a verification link to the user's address; False when there is nothing to send
    (no address, verified already) or the account had its mails for the hour."""
    if not user.email or user.email_verified or not await may_mail(user):
        return False
    minutes = settings.email_verification_minutes
    await mail_link(user, VERIFY_EMAIL, minutes, "Confirm your e-mail address", "verify_email", "verify-email")
    return True


async def verify_email(token: str) -> UserInDB:
    user, _ = await redeem(token, VERIFY_EMAIL)
    changed = msgspec.structs.replace(user, email_verified=True)
    await user_store.save(changed)
    return changed


async def change_email(user: UserInDB, email: str) -> UserInDB:
    """A new address, unverified: a verification link goes to it."""
    changed = await accounts.update_account(user, email=email)
    if changed.email_verified is False and changed.email != user.email:
        await send_verification(changed)
    return changed


# Work done after the answer (the reset lookup), kept referenced until it ends.
_background: set[asyncio.Task] = set()


def after_answer(work) -> None:
    task = asyncio.get_running_loop().create_task(work)
    _background.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("Recovery work failed after its answer", exc_info=task.exception())
