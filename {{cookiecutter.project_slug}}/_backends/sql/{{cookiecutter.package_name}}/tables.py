"""The database schema, as SQLAlchemy Core tables. The migrations in migrations/versions/ create
it; after changing a table here, add one with `alembic revision --autogenerate -m "what changed"`.

Times are Unix seconds (float), as in token claims, so every database engine stores them alike.
"""

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, false

# Fixed constraint names, so migrations can refer to them on every engine.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    # The id tokens name (random, never reused); `id` above only joins tables.
    Column("uid", String(32), nullable=False, unique=True),
    Column("username", String(150), nullable=False, unique=True),  # canonical form (accounts.py)
    Column("email", String(320)),
    Column("hashed_password", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("scopes", String(500), nullable=False, server_default=""),  # space separated, as in OAuth2
    Column("created_at", Float, nullable=False),
    Column("password_changed_at", Float, nullable=False),
    # Tokens whose `iat` is earlier are refused (a password change, "sign out everywhere").
    Column("tokens_valid_from", Integer, nullable=False, server_default="0"),
    # The user followed a verification link mailed to `email` (recovery.py).
    Column("email_verified", Boolean, nullable=False, server_default=false()),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("family", String(64), nullable=False),  # every token of one login shares it
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", Integer, nullable=False),
    Column("state", String(8), nullable=False, server_default="active"),  # active, spent or revoked
    Column("spent_at", Float),
    Column("replaced_by", String(64)),  # the jti of the token issued when this one was spent
    # The token's iat and its login's scopes: with the rest, they issue the same token again
    # (the retry window).
    Column("issued_at", Integer),
    Column("scope", String(500), nullable=False, server_default=""),
    # The lookups the routes make besides by jti: a login's tokens, a user's, the expired ones.
    Index("ix_refresh_tokens_family", "family"),
    Index("ix_refresh_tokens_user_id", "user_id"),
    Index("ix_refresh_tokens_expires_at", "expires_at"),
)

# Login-throttling counters (throttle.py), one row per key: a username at a client address, or
# an address. Keys are keyed digests, so neither usernames nor addresses are stored readably.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("in_flight", Integer, nullable=False),
    Column("window_start", Float, nullable=False),
    Column("blocked_until", Float, nullable=False),
    Index("ix_login_throttle_window_start", "window_start"),  # for deleting the old ones
)

# Reset and verification tokens (recovery.py): only the SHA-256 of each, never the token.
one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("expires_at", Float, nullable=False),
    # What it was issued against: a password change voids a reset token, a new address a verification.
    Column("password_changed_at", Float, nullable=False),
    Column("email", String(320)),
    Index("ix_one_time_tokens_user_id", "user_id"),
    Index("ix_one_time_tokens_expires_at", "expires_at"),
)

# Mails waiting to be sent (mail.py); a row goes once its mail is sent or given up.
outbox = Table(
    "outbox",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("text_body", Text, nullable=False),
    Column("html_body", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=False),
    Index("ix_outbox_next_attempt_at", "next_attempt_at"),
)

# The audit trail (audit.py): one row per security event, newest by id. Names are kept as they
# were at the time (a user renamed or deleted later keeps their history readable).
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event", String(40), nullable=False),
    Column("time", Float, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("actor_id", String(32)),
    Column("actor_name", String(150)),
    Column("subject_id", String(32)),
    Column("subject_name", String(150)),
    Column("address", String(64)),
    Column("request_id", String(128)),
    Column("detail", String(500), nullable=False, server_default=""),
    Index("ix_audit_events_time", "time"),  # pruning and time filters
    Index("ix_audit_events_event", "event"),
    Index("ix_audit_events_actor_name", "actor_name"),
    Index("ix_audit_events_subject_name", "subject_name"),
)
