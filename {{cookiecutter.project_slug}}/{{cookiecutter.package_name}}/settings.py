"""Settings, read once at start-up from the environment and from `.env` in the working directory.

Every setting is an upper-case environment variable named like its field (`secret_key` is
`SECRET_KEY`). Real environment variables win over `.env`, so production can set them directly.
"""

import os
from typing import Literal

import msgspec
from dotenv import load_dotenv

MIN_SECRET_KEY_LENGTH = 32
NEW_KEY_COMMAND = "python -c 'import secrets; print(secrets.token_urlsafe(64))'"


class Settings(msgspec.Struct, frozen=True):
    secret_key: str
    # HS256/HS384/HS512 sign every token with SECRET_KEY; ES256/RS256 sign access tokens with a
    # private key from SIGNING_KEYS_DIR, which other services can check (README: "Signing keys").
    jwt_algorithm: Literal["HS256", "HS384", "HS512", "ES256", "RS256"] = "HS256"
    # Older secrets (comma separated) that still verify tokens but sign none: rotating SECRET_KEY
    # through here logs nobody out.
    previous_secret_keys: str = ""
    # The PEM files of ES256/RS256 keys (`python -m {{ cookiecutter.package_name }} keys new`).
    signing_keys_dir: str = "keys"
    # The kid of the key that signs; empty: the newest key of JWT_ALGORITHM's kind.
    signing_key_id: str = ""
    access_token_expire_minutes: int = {{ cookiecutter.access_token_expire_minutes }}
    refresh_token_expire_days: int = {{ cookiecutter.refresh_token_expire_days }}
    # Optional `aud` / `iss` claims: set them when several services accept these tokens.
    # TOKEN_ISSUER is best the service's public https URL: the metadata at
    # /.well-known/oauth-authorization-server then names it as issuer and base of its endpoints.
    token_audience: str = ""
    token_issuer: str = ""
    # The refresh cookie is Secure unless this is false (plain-http local development only).
    cookie_secure: bool = True
    # Origins besides the service's own that may call /auth/refresh and /auth/logout
    # with the cookie (comma separated), e.g. the site of a single-page app.
    allowed_origins: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Largest request body accepted; login forms are tiny, so anything bigger is refused.
    max_body_bytes: int = 16 * 1024
    # Request headers: the most bytes of names and values in all, and the most of them; past
    # either, 431. uvicorn's default parser takes any number of any size.
    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    # POST /auth/register lets anyone create an account (scopes me and items) when true.
    allow_signup: bool = False
    # Login throttling (throttle.py): failed logins allowed per username and client address, and
    # per client address, before each further attempt waits; counts start again after the window.
    login_failures_per_user: int = 5
    login_failures_per_address: int = 50
    login_failure_window_seconds: float = 900
    # The first wait past a limit; it doubles with each further failure, up to the most.
    login_wait_seconds: float = 1
    login_max_wait_seconds: float = 300
    # Password checks one client address may have running or waiting at once.
    login_checks_per_address: int = 2
    # Accounts one client address may create (sign-up, the admin route) within the window above
    # before each further one waits (doubling, as for logins); one at a time.
    accounts_per_address: int = 10
    # How long a 429 is held before it is sent, so a client that ignores Retry-After gets one
    # answer per connection per this long instead of turning refusals into a flood; 0: at once.
    login_refusal_delay_seconds: float = 1
    # Proxies whose X-Forwarded-For is believed (comma separated addresses or networks, e.g.
    # "10.0.0.0/8, 127.0.0.1"); empty: the client address is always the socket peer.
    trusted_proxies: str = ""
    # Password checks that may wait for a hashing thread, per thread; past that, logins get 503.
    password_checks_waiting_per_cpu: int = 4
    # A refresh token spent this recently gets the same successor again instead of counting as
    # reuse (two tabs, a retried request); 0 turns the window off.
    refresh_reuse_grace_seconds: float = 10
    # Mail (mail.py). With SMTP_HOST empty, mails are written to the log instead (development).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    # none: plain SMTP (a local catcher such as Mailpit); starttls: upgrade after connecting; tls: TLS from the start.
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    mail_from: str = "no-reply@localhost"
    # The service's address as users reach it: the base of the links in mails.
    public_url: str = "http://127.0.0.1:8000"
    # Account recovery (recovery.py): how long a reset or verification link works.
    password_reset_minutes: float = 30
    email_verification_minutes: float = 24 * 60
    # Recovery mails one account may be sent per hour; past it requests still answer 202, unmailed.
    recovery_mails_per_account: int = 3
    # Recovery requests per client address, and per e-mail address asked about, per hour (then 429).
    recovery_requests_per_address: int = 20
    recovery_requests_per_email: int = 5
    # When true, routes declared with require_scopes(..., verified_email=True) refuse unverified users (403).
    require_verified_email: bool = False
    # Log lines as `text` (a terminal) or `json` (one object a line: the container image's choice).
    log_format: Literal["text", "json"] = "text"
    # GET /metrics (Prometheus) is served only when true, and only to these addresses or networks.
    metrics_enabled: bool = False
    metrics_allowed_addresses: str = "127.0.0.1, ::1"
{%- if cookiecutter.database != "fake" %}
{%- if cookiecutter.database == "sqlite" %}
    # A file under the folder the service starts from (data/ is git-ignored).
    database_url: str = "sqlite+aiosqlite:///data/{{ cookiecutter.package_name }}.db"
{%- else %}
    # .env sets the real one, with the password the template generated.
    database_url: str = "postgresql+asyncpg://127.0.0.1:5432/{{ cookiecutter.package_name }}"
{%- endif %}
    # Connections each process keeps open; 0 opens one per use (behind PgBouncer, or in tests).
    database_pool_size: int = 5
    # How long to wait for a connection or a statement before answering 503.
    database_timeout_seconds: float = 5.0
    # How stale a user record may be on protected routes of other processes (see docs/database.md).
    user_cache_seconds: float = 5.0
    # Audit events older than this many days are deleted from audit_events; 0 keeps them all.
    audit_retention_days: int = 90
{%- endif %}

    @property
    def extra_origins(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip())


class SettingsError(SystemExit):
    """Stops the process with one readable line instead of a traceback."""


def load_settings() -> Settings:
    load_dotenv(".env")
    names = [field.name for field in msgspec.structs.fields(Settings)]
    values = {name: os.environ[name.upper()] for name in names if os.environ.get(name.upper())}
    if "secret_key" not in values:
        raise SettingsError(
            "SECRET_KEY is not set: put SECRET_KEY=<random string> in .env in the directory you "
            f"start the service from, or in the environment. Make one with: {NEW_KEY_COMMAND}"
        )
    try:
        settings = msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:  # "Expected `int`, got `str` - at `$.port`"
        problem, _, field = str(exc).partition(" - at `$.")
        raise SettingsError(f"Invalid setting {field.strip('`').upper()}: {problem}") from None
    if len(settings.secret_key) < MIN_SECRET_KEY_LENGTH:
        raise SettingsError(
            f"SECRET_KEY is too short: use at least {MIN_SECRET_KEY_LENGTH} random characters. "
            f"Make one with: {NEW_KEY_COMMAND}"
        )
    for secret in settings.previous_secret_keys.split(","):
        if secret.strip() and len(secret.strip()) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(f"PREVIOUS_SECRET_KEYS has a key shorter than {MIN_SECRET_KEY_LENGTH} characters")
    return settings


settings = load_settings()
