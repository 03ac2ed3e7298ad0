"""Signed tokens (python-jose): their claims, how they are signed, and how strictly they are read.

What a token is *for* (issuing, rotating, revoking, whether it is still good) is sessions.py's.
Which key signs and which keys verify is keys.py's: every token names its key in its header.
"""

import base64
import functools
import re
import secrets

import msgspec
from jose import JWTError, jwt

from . import keys
from .settings import settings

ACCESS = "access"
REFRESH = "refresh"
# base64url without padding: the only text of a segment that is accepted (RFC 7515 2).
SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
# The header members a token may have. `jwk`, `jku`, `x5u`, `x5c` would name a key of the
# sender's choosing, `crit` extensions nobody here understands: any of them and it is refused.
HEADER_MEMBERS = frozenset({"alg", "kid", "typ"})


class InvalidToken(Exception):
    """The token is malformed, forged, expired or of the wrong kind."""


class TokenClaims(msgspec.Struct, omit_defaults=True):
    sub: str  # the user's id (UserInDB.uid): never reused, unlike a username
    type: str
    exp: int
    iat: int
    jti: str
    scope: str = ""  # granted scopes, space separated (RFC 9068 2.2.3); a refresh token: its login's
    fam: str = ""  # refresh tokens only: the login session this token descends from


class AccessClaims(TokenClaims, omit_defaults=True):
    """An access token's verified claims, its scopes also as a set: routes check them on every
    request, so the token cache keeps them split once per token."""

    scopes: frozenset[str] = frozenset()


# The claims this module sets itself; extra claims may not replace them.
RESERVED_CLAIMS = frozenset(TokenClaims.__struct_fields__) | {"aud", "iss"}


def new_claims(user_id: str, kind: str, lifetime_seconds: int, issued_at: int, scope: str = "", fam: str = ""):
    return TokenClaims(
        sub=user_id,
        type=kind,
        iat=issued_at,
        exp=issued_at + lifetime_seconds,
        jti=secrets.token_urlsafe(16),
        scope=scope,
        fam=fam,
    )


def encode_token(claims: TokenClaims, extra: dict | None = None) -> str:
    """The signed token. HMAC signatures are deterministic: the same claims give the same string.
    `extra` adds claims of your own (e.g. {"tenant": "acme"}); it cannot replace the ones above."""
    clash = RESERVED_CLAIMS & set(extra or {})
    if clash:
        raise ValueError(f"claims {sorted(clash)} are set by tokens.py itself")
    payload = {**(extra or {}), **msgspec.to_builtins(claims)}
    if settings.token_audience:
        payload["aud"] = settings.token_audience
    if settings.token_issuer:
        payload["iss"] = settings.token_issuer
    key = key_ring(claims.type).signing
    return jwt.encode(payload, key.signer, algorithm=key.algorithm, headers={"kid": key.kid})


@functools.cache
def key_rings() -> keys.KeyRings:
    """Read once, on first use (main.py asks at import, so a missing key stops the start-up)."""
    return keys.load(settings)


def key_ring(kind: str) -> keys.KeyRing:
    return key_rings().refresh if kind == REFRESH else key_rings().access


def decode_access_token(token: str) -> AccessClaims:
    claims = decode(token, ACCESS)
    return AccessClaims(**msgspec.structs.asdict(claims), scopes=frozenset(claims.scope.split()))


def decode_refresh_token(token: str) -> TokenClaims:
    claims = decode(token, REFRESH)
    if not claims.fam:
        raise InvalidToken("refresh token without a family")
    return claims


def check_canonical(token: str) -> None:
    """Accept only one text per token: three unpadded base64url segments with no stray bits.
    The JOSE library decodes `token + "="` or a changed unused bit to the same bytes, and would
    accept it: a second spelling of a token that caches and revocation lists would not know."""
    segments = token.split(".")
    if len(segments) != 3:
        raise InvalidToken("not three segments")
    for segment in segments:
        if not SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
            raise InvalidToken("not base64url")
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        if base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() != segment:
            raise InvalidToken("not canonical base64url")


def decode(token: str, kind: str) -> TokenClaims:
    check_canonical(token)
    try:
        key = key_of(token, kind)
        payload = jwt.decode(
            token,
            key.verifier,
            algorithms=[key.algorithm],  # the key's own: `none` or another algorithm is refused
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


def key_of(token: str, kind: str) -> keys.Key:
    """The key a token's header names, if the ring of its kind has it; never one it brings."""
    header = jwt.get_unverified_header(token)  # JWTError
    if not HEADER_MEMBERS.issuperset(header):
        raise InvalidToken(f"header members {sorted(set(header) - HEADER_MEMBERS)} are not accepted")
    kid = header.get("kid")
    # A dictionary lookup, never a path: a kid like "../x" is just one that is not there.
    key = key_ring(kind).by_kid.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("unknown kid")
    return key
