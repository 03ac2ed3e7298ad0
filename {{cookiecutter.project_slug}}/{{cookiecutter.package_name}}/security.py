"""Auth helpers: password hashing (passlib + bcrypt) and signed tokens (python-jose)."""

import asyncio
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import msgspec
from jose import JWTError, jwt
from passlib.context import CryptContext

from .settings import settings

# bcrypt_sha256 runs HMAC-SHA256 before bcrypt, so passwords past bcrypt's 72-byte limit are
# neither truncated nor refused. Plain bcrypt hashes (imported from elsewhere) still verify.
password_context = CryptContext(schemes=["bcrypt_sha256", "bcrypt"], deprecated="auto")

ACCESS = "access"
REFRESH = "refresh"


class InvalidToken(Exception):
    """The token is malformed, forged, expired or of the wrong kind."""


class TokenClaims(msgspec.Struct, omit_defaults=True):
    sub: str
    type: str
    exp: int
    iat: int
    jti: str
    scope: str = ""  # granted scopes, space separated (RFC 9068 2.2.3); a refresh token: its login's
    fam: str = ""  # refresh tokens only: the login session this token descends from


# The claims create_access_token sets itself; extra claims may not replace them.
RESERVED_CLAIMS = frozenset(TokenClaims.__struct_fields__) | {"aud", "iss"}


def hash_password(password: str) -> str:
    return password_context.hash(password)


def verify_password(password: str, hashed_password: str | None) -> bool:
    """Check a password. With no hash (unknown user) it costs the same time and says False."""
    if hashed_password is None:
        password_context.dummy_verify()
        return False
    try:
        return password_context.verify(password, hashed_password)
    except ValueError:  # longer than passlib accepts, or a damaged stored hash
        return False


# A bcrypt check costs ~0.2 s of CPU. On the event loop it would stall every other request;
# one thread per CPU this process may run on lets logins queue instead of starving the rest.
_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
# Niceness of the hashing threads (0-19). While the CPU is saturated, other requests get ~90% of
# it at 10 (~50% at 0); logins wait longer instead. Idle CPU goes to hashing either way.
HASHING_NICENESS = 10


def _lower_thread_priority() -> None:
    if sys.platform == "linux":  # only Linux gives each thread its own nice value
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


_hashing_threads = ThreadPoolExecutor(
    max_workers=_cpus or 1, thread_name_prefix="password-hashing", initializer=_lower_thread_priority
)


class Overloaded(Exception):
    """Every hashing thread is busy and the queue of checks waiting for one is full: 503."""


class CheckQueue:
    """Bounds the password checks running or waiting. A login that would wait behind more than
    PASSWORD_CHECKS_WAITING_PER_CPU checks per thread is refused at once (503 with Retry-After)
    instead of waiting seconds; nothing else waits for these threads, so no other route slows."""

    def __init__(self, threads: int, waiting_per_thread: int) -> None:
        self.limit = threads * (1 + waiting_per_thread)
        self.pending = 0  # changed only on the event loop: no lock needed

    async def run(self, check, *args):
        if self.pending >= self.limit:
            raise Overloaded
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(_hashing_threads, check, *args)
        finally:
            self.pending -= 1


password_checks = CheckQueue(_cpus or 1, settings.password_checks_waiting_per_cpu)


async def verify_password_in_thread(password: str, hashed_password: str | None) -> bool:
    """verify_password on a hashing thread; Overloaded when too many checks wait already."""
    return await password_checks.run(verify_password, password, hashed_password)


async def hash_password_in_thread(password: str) -> str:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hashing_threads, hash_password, password)


# Cutting off tokens by time. A token's `iat` has whole-second resolution (RFC 7519 NumericDate
# as everyone writes it), so "issued before the change" cannot be told from "issued just after"
# within the second of the change. So a change (new password, sign out everywhere) refuses every
# token whose iat is before the NEXT whole second, which includes all tokens issued until the
# change, even earlier in the same second; and a token issued after the change, in that same
# second, gets that next second as its iat (issued_at_for), so a login right after the change
# works. The price: such a token says it was issued up to one second in the future. Clocks of
# other machines must agree to within a second or so for this to hold across them.


def revocation_cutoff() -> int:
    """The `tokens_valid_from` a change sets: tokens issued until now are refused, later ones not."""
    return int(time.time()) + 1


def issued_at_for(tokens_valid_from: int) -> int:
    """The `iat` of a new token for a user: now, or their cutoff if that is later."""
    return max(int(time.time()), tokens_valid_from)


def create_access_token(
    username: str,
    scopes: Iterable[str] = (),
    *,
    lifetime_seconds: int | None = None,
    claims: dict | None = None,
    issued_at: int | None = None,
) -> str:
    """A signed access token for `username` carrying `scopes`, valid for `lifetime_seconds`
    (ACCESS_TOKEN_EXPIRE_MINUTES by default). `claims` adds claims of your own (e.g.
    {"tenant": "acme"}); the ones this module sets (sub, exp, scope, ...) cannot be replaced.
    Read them back with `jwt.get_unverified_claims` after decode_access_token has verified the
    token, or add them to TokenClaims."""
    clash = RESERVED_CLAIMS & set(claims or {})
    if clash:
        raise ValueError(f"claims {sorted(clash)} are set by create_access_token itself")
    if lifetime_seconds is None:
        lifetime_seconds = settings.access_token_expire_minutes * 60
    return _encode(username, ACCESS, lifetime_seconds, " ".join(scopes), issued_at=issued_at, extra=claims)[0]


def create_refresh_token(
    username: str, family: str, scope: str, issued_at: int | None = None
) -> tuple[str, TokenClaims]:
    """`scope`: the scopes the login was granted, kept for the whole family (routers/auth.py)."""
    lifetime = settings.refresh_token_expire_days * 86400
    return _encode(username, REFRESH, lifetime, scope, issued_at=issued_at, fam=family)


class AccessClaims(TokenClaims, omit_defaults=True):
    """An access token's verified claims, its scopes also as a set: routes check them on every
    request (dependencies.require_scopes), so the token cache keeps them split once per token."""

    scopes: frozenset[str] = frozenset()


def decode_access_token(token: str) -> AccessClaims:
    claims = _decode(token, ACCESS)
    return AccessClaims(**msgspec.structs.asdict(claims), scopes=frozenset(claims.scope.split()))


def decode_refresh_token(token: str) -> TokenClaims:
    claims = _decode(token, REFRESH)
    if not claims.fam:
        raise InvalidToken("refresh token without a family")
    return claims


def _encode(
    username: str,
    kind: str,
    lifetime_seconds: int,
    scope: str,
    issued_at: int | None = None,
    fam: str = "",
    extra: dict | None = None,
) -> tuple[str, TokenClaims]:
    now = int(time.time()) if issued_at is None else issued_at
    jti = secrets.token_urlsafe(16)
    claims = TokenClaims(sub=username, type=kind, iat=now, exp=now + lifetime_seconds, jti=jti, scope=scope, fam=fam)
    return encode_token(claims, extra), claims


def encode_token(claims: TokenClaims, extra: dict | None = None) -> str:
    """The signed token. HMAC signatures are deterministic: the same claims give the same string."""
    payload = {**(extra or {}), **msgspec.to_builtins(claims)}
    if settings.token_audience:
        payload["aud"] = settings.token_audience
    if settings.token_issuer:
        payload["iss"] = settings.token_issuer
    return jwt.encode(payload, settings.secret_key, algorithm=settings.algorithm)


def _decode(token: str, kind: str) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[settings.algorithm],  # a list, so `none` or another algorithm is refused
            audience=settings.token_audience or None,
            issuer=settings.token_issuer or None,
            options={
                "require_exp": True,
                "require_iat": True,
                "require_sub": True,
                "require_jti": True,
                "require_aud": bool(settings.token_audience),
                "require_iss": bool(settings.token_issuer),
            },
        )
        claims = msgspec.convert(payload, TokenClaims)
    # python-jose lets TypeError/OverflowError out for a signed `exp` that is not a number.
    except (JWTError, msgspec.ValidationError, TypeError, OverflowError) as exc:
        raise InvalidToken(str(exc)) from None
    if claims.type != kind:
        raise InvalidToken(f"expected an {kind} token, got {claims.type!r}")
    return claims
