"""Sessions: the tokens of a login from issue to end, and the one rule that says whether a token
is still good. Routers turn these calls and their exceptions into HTTP; nothing else issues,
rotates or revokes a token.

A login (`start`) gets a short-lived access token and a refresh token of a new family. Each
`rotate` spends the refresh token and issues its successor; a spent token coming back revokes
its whole family, unless it is the live token's predecessor spent within
REFRESH_REUSE_GRACE_SECONDS: then it gets that same live token again (two tabs refreshing at
once, a retried request). `end` ends one login, `end_all` every login of a user.

The validity rule (`still_good`) is the same for both kinds of token: the account the token
names (by id) still exists, is enabled, and has not cut off the tokens issued before a moment
(password change, sign out everywhere, disable, a scope taken away). On top of it, a request may
use a scope only if its token was granted it AND the user has it now (`authenticate`).
"""

import secrets
import time
from collections.abc import Iterable

import msgspec

from . import audit, metrics
from . import scopes as scope_names
from .backend import refresh_store, user_store
from .models import UserInDB
from .request_context import current
from .settings import settings
from .stores import RefreshRecord
from .token_cache import VerifiedTokenCache
from .tokens import (
    ACCESS,
    REFRESH,
    InvalidToken,
    TokenClaims,
    decode_access_token,
    decode_refresh_token,
    encode_token,
    new_claims,
)

access_tokens = VerifiedTokenCache(decode_access_token)


class SessionRefused(Exception):
    """A refresh token that is missing, invalid, expired, revoked or reused: 401, cookie cleared."""


class MissingScope(Exception):
    """A valid token, but it was not granted a scope the route needs, or the user lost it: 403."""


class Issued(msgspec.Struct, frozen=True):
    """What a login or a refresh hands out."""

    access_token: str
    expires_in: int  # seconds
    scope: str  # granted, space separated
    refresh_token: str
    refresh_max_age: int  # seconds


def still_good(user: UserInDB | None, claims: TokenClaims) -> bool:
    """The validity rule of every token, access or refresh, beyond its signature and expiry."""
    return user is not None and not user.disabled and claims.iat >= user.tokens_valid_from


async def authenticate(token: str, needed: frozenset[str]) -> UserInDB:
    """The user of a bearer access token that may use every scope in `needed`. The hot path of
    every protected request: no database round trip (the user comes from the store's cache,
    USER_CACHE_SECONDS at most behind), and beyond verifying a new token only comparisons."""
    claims = access_tokens.verify(token)  # InvalidToken
    user = user_store.cached(claims.sub) or await user_store.get_by_id(claims.sub)
    if not still_good(user, claims):
        raise InvalidToken("revoked")
    if not (needed <= claims.scopes and needed.issubset(user.scopes)):
        raise MissingScope
    context = current.get()
    if context is not None:  # the actor of any audit event this request records
        context.actor_id, context.actor_name = user.uid, user.username
    return user


# Cutting off tokens by time. A token's `iat` has whole-second resolution (RFC 7519 NumericDate
# as everyone writes it), so "issued before the change" cannot be told from "issued just after"
# within the second of the change. So a change refuses every token whose iat is before the NEXT
# whole second, which includes all tokens issued until the change, even earlier in the same
# second; and a token issued after the change, in that same second, gets that next second as its
# iat (issued_at_for), so a login right after the change works. The price: such a token says it
# was issued up to one second in the future. Clocks of other machines must agree to within a
# second or so for this to hold across them.


def revocation_cutoff() -> int:
    """The `tokens_valid_from` a change sets: tokens issued until now are refused, later ones not."""
    return int(time.time()) + 1


def issued_at_for(user: UserInDB) -> int:
    """The `iat` of a new token for a user: now, or their cutoff if that is later."""
    return max(int(time.time()), user.tokens_valid_from)


def access_token_for(
    user: UserInDB, scopes: Iterable[str], lifetime_seconds: int | None = None, claims: dict | None = None
) -> str:
    """A signed access token for `user` carrying `scopes` (already granted: see scopes.grant),
    valid for `lifetime_seconds` (ACCESS_TOKEN_EXPIRE_MINUTES by default). `claims` adds claims
    of your own, e.g. {"tenant": "acme"}."""
    if lifetime_seconds is None:
        lifetime_seconds = settings.access_token_expire_minutes * 60
    token_claims = new_claims(user.uid, ACCESS, lifetime_seconds, issued_at_for(user), " ".join(scopes))
    return encode_token(token_claims, claims)


async def start(user: UserInDB, requested: Iterable[str]) -> Issued:
    """A new login of `user` (its password checked already): InvalidScope if it asked for
    scopes of which the user has none."""
    granted = " ".join(scope_names.grant(requested, user.scopes))
    refresh_token, record = new_refresh_token(user, family=secrets.token_urlsafe(16), scope=granted)
    await refresh_store.add(record)
    await audit.record("login.succeeded", user, actor=user, detail=f"scope={granted}")
    return issued(user, granted, refresh_token)


async def rotate(refresh_token: str) -> Issued:
    """Spend a refresh token for new tokens; SessionRefused (and its family revoked where it is
    known) when it is not good."""
    claims = read_refresh_token(refresh_token)
    user = await user_store.get_by_id(claims.sub)
    if not still_good(user, claims):
        await refresh_store.revoke_family(claims.fam)
        raise SessionRefused("Invalid or expired refresh token")
    try:
        # The login's scopes, less those the user is no longer allowed.
        granted = " ".join(scope_names.grant(claims.scope.split(), user.scopes))
    except scope_names.InvalidScope:
        await refresh_store.revoke_family(claims.fam)
        raise SessionRefused("This login's scopes are no longer allowed: log in again") from None
    successor, record = new_refresh_token(user, family=claims.fam, scope=claims.scope)
    if await refresh_store.rotate(claims.jti, record):
        await audit.record("session.refreshed", user, actor=user)
        return issued(user, granted, successor)
    if settings.refresh_reuse_grace_seconds > 0:
        since = time.time() - settings.refresh_reuse_grace_seconds
        live = await refresh_store.successor_spent_since(claims.jti, since)
        if live is not None:  # the same successor again: whichever answer the browser keeps works
            await audit.record("session.refreshed", user, actor=user, detail="retry window")
            return issued(user, granted, encode_token(claims_of(live)))
    await refresh_store.revoke_family(claims.fam)  # a token used twice: one copy was stolen
    metrics.reuse_detections.inc()
    await audit.record("session.reuse_detected", user, outcome="refused", detail="login revoked")
    raise SessionRefused("Refresh token already used or revoked: log in again")


async def end(refresh_token: str | None) -> None:
    """Log out: the refresh token's login ends. Nothing to do for a token that is not good."""
    try:
        claims = read_refresh_token(refresh_token)
    except SessionRefused:
        return
    await refresh_store.revoke_family(claims.fam)
    user = await user_store.get_by_id(claims.sub)
    await audit.record("session.logout", user, actor=user)


async def end_all_of(refresh_token: str | None) -> UserInDB:
    """Sign out everywhere, for the user of a refresh token that is still good."""
    claims = read_refresh_token(refresh_token)
    user = await user_store.get_by_id(claims.sub)
    if not still_good(user, claims):
        raise SessionRefused("Invalid or expired refresh token")
    changed = await end_all(user)
    await audit.record("session.logout_all", user, actor=user)
    return changed


async def end_all(user: UserInDB, keep_an_admin: bool = False) -> UserInDB:
    """Every login of `user` ends: refresh tokens revoked, access tokens issued until now refused
    (in this process at once; in others within USER_CACHE_SECONDS). Enabling the user or giving a
    scope back later never revives them. Saves `user` (with any other change it carries)."""
    changed = msgspec.structs.replace(user, tokens_valid_from=max(user.tokens_valid_from, revocation_cutoff()))
    await user_store.save(changed, keep_an_admin=keep_an_admin)
    await refresh_store.revoke_user(user.uid)
    return changed


def read_refresh_token(token: str | None) -> TokenClaims:
    if not token:
        raise SessionRefused("Missing refresh token cookie")
    try:
        return decode_refresh_token(token)
    except InvalidToken:
        raise SessionRefused("Invalid or expired refresh token") from None


def new_refresh_token(user: UserInDB, family: str, scope: str) -> tuple[str, RefreshRecord]:
    lifetime = settings.refresh_token_expire_days * 86400
    claims = new_claims(user.uid, REFRESH, lifetime, issued_at_for(user), scope, fam=family)
    record = RefreshRecord(claims.jti, family, user.uid, claims.exp, issued_at=claims.iat, scope=scope)
    return encode_token(claims), record


def claims_of(record: RefreshRecord) -> TokenClaims:
    """The claims the recorded token was issued with: encoded, they give the same token."""
    return TokenClaims(
        sub=record.user_id,
        type=REFRESH,
        exp=record.expires_at,
        iat=record.issued_at,
        jti=record.jti,
        scope=record.scope,
        fam=record.family,
    )


def issued(user: UserInDB, scope: str, refresh_token: str) -> Issued:
    return Issued(
        access_token=access_token_for(user, scope.split()),
        expires_in=settings.access_token_expire_minutes * 60,
        scope=scope,
        refresh_token=refresh_token,
        refresh_max_age=settings.refresh_token_expire_days * 86400,  # the refresh token's lifetime
    )
