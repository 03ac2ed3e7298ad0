"""Signing keys: the rings of keys that sign and verify tokens, the PEM files of private keys,
and the work of `python -m {{ cookiecutter.package_name }} keys new|list|retire`.

A ring holds every key that may verify a token, by `kid`; exactly one of them signs. A token
names its key in its header (`kid`) and is checked with that key and that key's algorithm only,
so a token can never choose its own key or algorithm.

- HMAC (JWT_ALGORITHM=HS256/HS384/HS512): SECRET_KEY signs, PREVIOUS_SECRET_KEYS still verify.
  The kid of a secret is derived from it by a one-way function: it names the secret, never
  reveals it.
- ES256/RS256: access tokens are signed with a private key from a PEM file in SIGNING_KEYS_DIR
  (the newest of JWT_ALGORITHM's kind, or SIGNING_KEY_ID); every file there verifies, and their
  public halves are published at /.well-known/jwks.json. The kid of such a key is its RFC 7638
  thumbprint. Refresh tokens stay HMAC (SECRET_KEY, HS256): only this service ever reads them,
  and an HMAC signature is deterministic, which the refresh retry window relies on (sessions.py
  hands out the same token string again). Keycloak signs its refresh tokens the same way.

Keys are read once, at start-up: a worker picks up a new key when it restarts.
"""

import argparse
import base64
import hashlib
import hmac
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk
from jose.backends.base import Key as JoseKey

from .settings import NEW_KEY_COMMAND, Settings, SettingsError

logger = logging.getLogger(__name__)

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
# The algorithm of refresh tokens when access tokens are signed with a private key.
REFRESH_ALGORITHM = "HS256"
CREATED = "Created: "  # the line a key file starts with, before the PEM block


class Key(msgspec.Struct, frozen=True):
    kid: str
    algorithm: str
    signer: JoseKey  # the private key, or the HMAC secret
    verifier: JoseKey  # the public key, or the HMAC secret
    created: float = 0.0  # unix time, to the microsecond (keys made in one second stay in order); 0: a secret
    path: Path | None = None  # the PEM file
    public_jwk: dict | None = None  # what /.well-known/jwks.json publishes; None for a secret


class KeyRing(msgspec.Struct, frozen=True):
    signing: Key
    by_kid: dict[str, Key]


class KeyRings(msgspec.Struct, frozen=True):
    access: KeyRing
    refresh: KeyRing

    def published(self) -> list[dict]:
        """The public keys, for the JWKS: never a secret."""
        return [key.public_jwk for key in self.access.by_kid.values() if key.public_jwk is not None]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hmac_kid(secret: str) -> str:
    """A name for a secret that does not reveal it (an HMAC of a fixed text under the secret)."""
    return b64url(hmac.new(secret.encode(), b"jwt key id", hashlib.sha256).digest()[:12])


def hmac_key(secret: str, algorithm: str) -> Key:
    prepared = jwk.construct(secret, algorithm)
    return Key(kid=hmac_kid(secret), algorithm=algorithm, signer=prepared, verifier=prepared)


def secrets_of(settings: Settings) -> list[str]:
    """SECRET_KEY first, then PREVIOUS_SECRET_KEYS."""
    return [settings.secret_key, *(s.strip() for s in settings.previous_secret_keys.split(",") if s.strip())]


def hmac_ring(settings: Settings, algorithm: str) -> KeyRing:
    keys = [hmac_key(secret, algorithm) for secret in secrets_of(settings)]
    return KeyRing(signing=keys[0], by_kid={key.kid: key for key in reversed(keys)})


def algorithm_of(private_key) -> str:
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(private_key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size >= 2048:
        return "RS256"
    raise ValueError("not a P-256 EC key nor an RSA key of 2048 bits or more")


def thumbprint(public_jwk: dict) -> str:
    """RFC 7638: SHA-256 over the key's required members, sorted, without whitespace."""
    members = ("crv", "kty", "x", "y") if public_jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({name: public_jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def read_key_file(path: Path) -> Key:
    text = path.read_bytes()
    private_key = serialization.load_pem_private_key(text, password=None)
    algorithm = algorithm_of(private_key)
    verifier = jwk.construct(private_key.public_key(), algorithm)
    public_jwk = {
        name: value for name, value in verifier.to_dict().items() if name in ("kty", "crv", "x", "y", "n", "e")
    }
    kid = thumbprint(public_jwk)
    first_line = text.split(b"\n", 1)[0].decode("ascii", "replace")
    if first_line.startswith(CREATED):
        created = datetime.fromisoformat(first_line.removeprefix(CREATED)).timestamp()
    else:  # a key made elsewhere (openssl): its file's age
        created = path.stat().st_mtime
    return Key(
        kid=kid,
        algorithm=algorithm,
        signer=jwk.construct(private_key, algorithm),
        verifier=verifier,
        created=created,
        path=path,
        public_jwk={**public_jwk, "kid": kid, "alg": algorithm, "use": "sig"},
    )


def key_files(settings: Settings) -> list[Key]:
    """Every key in SIGNING_KEYS_DIR, oldest first."""
    folder = Path(settings.signing_keys_dir)
    keys = []
    for path in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
        try:
            key = read_key_file(path)
        except (ValueError, TypeError, OSError) as exc:
            raise SettingsError(f"Cannot read the signing key {path}: {exc}") from None
        if path.stat().st_mode & 0o077:
            logger.warning("%s can be read by other users of this machine: chmod 600 it", path)
        keys.append(key)
    return sorted(keys, key=lambda key: key.created)


def signing_key_of(settings: Settings, keys: list[Key]) -> Key:
    """SIGNING_KEY_ID's key, or the newest key of JWT_ALGORITHM's kind."""
    algorithm = settings.jwt_algorithm
    if settings.signing_key_id:
        chosen = [key for key in keys if key.kid == settings.signing_key_id]
        if not chosen:
            raise SettingsError(
                f"SIGNING_KEY_ID {settings.signing_key_id} is not a key in {settings.signing_keys_dir}/"
            )
    else:
        chosen = [key for key in keys if key.algorithm == algorithm]
    if not chosen or chosen[-1].algorithm != algorithm:
        raise SettingsError(
            f"JWT_ALGORITHM is {algorithm} but {settings.signing_keys_dir}/ has no {algorithm} key to sign with"
            + (" named by SIGNING_KEY_ID" if settings.signing_key_id else "")
            + f": make one with `python -m {__package__} keys new`"
        )
    return chosen[-1]


def load(settings: Settings) -> KeyRings:
    """The rings the settings and SIGNING_KEYS_DIR describe; SettingsError (one line) if the
    configured algorithm has no key to sign with."""
    if settings.jwt_algorithm in HMAC_ALGORITHMS:
        ring = hmac_ring(settings, settings.jwt_algorithm)
        return KeyRings(access=ring, refresh=ring)
    keys = key_files(settings)
    access = KeyRing(signing=signing_key_of(settings, keys), by_kid={key.kid: key for key in keys})
    return KeyRings(access=access, refresh=hmac_ring(settings, REFRESH_ALGORITHM))


# The commands (`python -m {{ cookiecutter.package_name }} keys ...`): they touch files only, never the database.


class CommandError(Exception):
    """A mistake of the caller: printed as one line."""


def new_private_key(algorithm: str):
    while True:
        if algorithm == "ES256":
            key = ec.generate_private_key(ec.SECP256R1())
        else:  # RS256
            key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        # A kid starting with "-" would read as an option in `keys retire KID`: draw again (1 in 64).
        if not thumbprint(jwk.construct(key.public_key(), algorithm).to_dict()).startswith("-"):
            return key


def write_key_file(folder: Path, private_key, now: float) -> Path:
    """A new key file, mode 0600 from the start, in a folder only its owner can enter."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    created = datetime.fromtimestamp(now, UTC).isoformat(timespec="microseconds")
    temporary = folder / f".new-{os.getpid()}.tmp"  # not *.pem until complete
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(f"{CREATED}{created}\n".encode() + pem)
    key = read_key_file(temporary)
    path = folder / f"{key.kid}.pem"
    temporary.rename(path)
    return path


def new(settings: Settings) -> str:
    algorithm = settings.jwt_algorithm
    if algorithm in HMAC_ALGORITHMS:
        return (
            f"{algorithm} keys are secrets in settings, not files. Make one with: {NEW_KEY_COMMAND}\n"
            "Then move the current SECRET_KEY to PREVIOUS_SECRET_KEYS (comma separated) and put the new one in "
            "SECRET_KEY; restart. Tokens signed with the old secret keep working until you remove it."
        )
    path = write_key_file(Path(settings.signing_keys_dir), new_private_key(algorithm), time.time())
    key = read_key_file(path)
    return f"{key.kid}\nMade an {algorithm} key in {path}; it signs from the next restart" + (
        " (unless SIGNING_KEY_ID names another key)." if settings.signing_key_id else "."
    )


def when(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d %H:%M UTC") if created else "-"


def listing(settings: Settings) -> str:
    rings = load(settings)
    hmac_only = rings.access is rings.refresh
    rows = [("KID", "ALGORITHM", "CREATED", "USE")]
    for ring, tokens in [(rings.access, "tokens" if hmac_only else "access tokens")] + (
        [] if hmac_only else [(rings.refresh, "refresh tokens")]
    ):
        for key in sorted(ring.by_kid.values(), key=lambda key: (key is not ring.signing, -key.created)):
            source = str(key.path) if key.path else "SECRET_KEY" if key is ring.signing else "PREVIOUS_SECRET_KEYS"
            use = "signs" if key is ring.signing else "verifies"
            rows.append((key.kid, key.algorithm, when(key.created), f"{use} {tokens} ({source})"))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join("  ".join([*(row[i].ljust(widths[i]) for i in range(3)), row[3]]) for row in rows)


def retire(settings: Settings, kid: str) -> str:
    rings = load(settings)
    if kid in rings.refresh.by_kid:
        raise CommandError("that is a secret's kid: remove the secret from PREVIOUS_SECRET_KEYS instead")
    # Found among the files read, never joined to a path: a kid is not trusted to name a file.
    key = rings.access.by_kid.get(kid)
    if key is None or key.path is None:
        raise CommandError(f"no key {kid!r} in {settings.signing_keys_dir}/ (see `keys list`)")
    if key is rings.access.signing:
        raise CommandError("that key signs today's tokens: make a new one (`keys new`) and restart first")
    warning = ""
    successors = [other.created for other in rings.access.by_kid.values() if other.created > key.created]
    alive_until = min(successors, default=0) + settings.access_token_expire_minutes * 60
    if alive_until > time.time():
        warning = (
            f"\nwarning: access tokens it signed may still be alive until about {when(alive_until)}: "
            "they are refused from the next restart"
        )
    key.path.unlink()
    return f"Retired {kid} ({key.path}); restart the service to stop accepting its tokens.{warning}"


def add_commands(commands) -> None:
    """`keys new|list|retire`, added to the parser's subcommands (__main__.py)."""
    signing = commands.add_parser("keys", help="manage the keys that sign tokens (files only, no database)")
    signing.set_defaults(run=run)
    actions = signing.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("new", help="make a key for JWT_ALGORITHM in SIGNING_KEYS_DIR and print its kid")
    actions.add_parser("list", help="list the keys: kid, algorithm, created, which one signs")
    actions.add_parser("retire", help="delete a key that no longer signs; its tokens are refused").add_argument(
        "kid", help='as `keys list` shows it (one made elsewhere that starts with "-": put -- before it)'
    )


def run(args: argparse.Namespace, settings: Settings | None = None) -> int:
    if settings is None:
        from .settings import settings  # the environment's, read when a command runs
    try:
        if args.action == "new":
            print(new(settings))
        elif args.action == "list":
            print(listing(settings))
        else:
            print(retire(settings, args.kid))
    except (CommandError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
