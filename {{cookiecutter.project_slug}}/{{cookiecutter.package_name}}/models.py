"""The shapes of data in and out: msgspec Structs, the one description of every body. msgspec
checks the constraints given with msgspec.Meta when it decodes a body, and openapi.py publishes
msgspec's own JSON Schema of each Struct, so the OpenAPI document states every one of them.
Bodies that refuse unknown fields say so (forbid_unknown_fields: `additionalProperties: false`).
"""

import operator
import secrets
from typing import Annotated, Literal

import msgspec

from . import passwords
from .scopes import ADMIN, DEFAULT_SCOPES, SCOPES


def whole(regex: str) -> str:
    """A pattern the whole text must match, read alike by msgspec (Python's re) and by the
    document's readers (ECMA 262). No class shorthands: \\w and \\s differ between them outside
    ASCII. Python's `$` also matches before a final newline: `(?!\\n)` refuses that one."""
    return rf"^{regex}$(?!\n)"


# ASCII letters and digits and . @ + - _ (as Django's ASCII validator allows): no spaces, control
# characters or NUL, which some databases cannot store. Logins accept any name; only new accounts must match.
USERNAME_CHARACTERS = r"[A-Za-z0-9_.@+-]+"
USERNAME_PATTERN = whole(USERNAME_CHARACTERS)
Username = Annotated[str, msgspec.Meta(min_length=1, max_length=150, pattern=USERNAME_PATTERN)]
# Something @ something, with no space nor control character.
EMAIL_PART = r"[^@\x00-\x20\x7f-\x9f]+"
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=whole(f"{EMAIL_PART}@{EMAIL_PART}"))]
# Rules that the routes check themselves, so that a refusal names the rule it broke (passwords.py,
# scopes.py): extra_json_schema only states them in the document, msgspec does not enforce them.
NewPassword = Annotated[
    str,
    msgspec.Meta(
        description=f"{passwords.MIN_LENGTH} to {passwords.MAX_LENGTH} characters, not a common password",
        extra_json_schema={"minLength": passwords.MIN_LENGTH, "maxLength": passwords.MAX_LENGTH},
    ),
]
Scope = Annotated[str, msgspec.Meta(extra_json_schema={"enum": list(SCOPES)})]


class User(msgspec.Struct):
    """A user as the API shows it."""

    username: str
    email: str | None = None
    disabled: bool = False
    # The user proved they read mail at `email` (recovery.py); a new e-mail is unverified again.
    email_verified: bool = False


def new_user_id() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits: never reused, and tells nothing


class UserInDB(User, kw_only=True):
    """A user as the store keeps it: never returned by a route."""

    # What tokens name as `sub`: a username can be freed and taken again, an id never is.
    uid: str = msgspec.field(default_factory=new_user_id)
    hashed_password: str
    scopes: tuple[str, ...] = ()  # what the user may be granted
    # Unix times in seconds, as in token claims.
    created_at: float = 0.0
    password_changed_at: float = 0.0
    # Access and refresh tokens whose `iat` is earlier are refused: set by a password change and
    # by "sign out everywhere" (see security.revocation_cutoff for why it is a whole second).
    tokens_valid_from: int = 0

    @property
    def is_enabled_admin(self) -> bool:
        return not self.disabled and ADMIN in self.scopes

    def public(self) -> User:
        """The fields of User, whatever they are (on every protected request: attrgetter is fast)."""
        return User(*PUBLIC_FIELDS(self))

    def account(self) -> "UserAccount":
        """The fields of UserAccount, whatever they are."""
        return msgspec.convert(self, UserAccount, from_attributes=True)


PUBLIC_FIELDS = operator.attrgetter(*User.__struct_fields__)


class UserAccount(User, kw_only=True):
    """A user as the admin routes show it."""

    scopes: list[str]
    created_at: float
    password_changed_at: float  # an old password may be worth a reset


class UserPage(msgspec.Struct):
    """One page of GET /users; `next_offset` is null on the last page."""

    users: list[UserAccount]
    next_offset: int | None = None


class LoginForm(msgspec.Struct):
    """The OAuth2 password form of POST /auth/token (RFC 6749 4.3.2). Bounds keep hashing work per
    request small. Other fields, such as the `client_id` OAuth2 clients add, are ignored."""

    username: Annotated[str, msgspec.Meta(min_length=1, max_length=150)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=passwords.MAX_LENGTH)]
    # Space separated; empty asks for every scope the user is allowed.
    scope: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    # "password", as OAuth2 clients send it, or empty: any other value is refused with 400.
    grant_type: Literal["", "password"] = ""


class TokenResponse(msgspec.Struct):
    """RFC 6749 5.1."""

    access_token: str
    expires_in: int  # seconds
    scope: str  # space separated
    token_type: str = "bearer"


class SignUp(msgspec.Struct, forbid_unknown_fields=True):
    """The body of POST /auth/register."""

    username: Username
    password: NewPassword
    email: Email | None = None


class NewUser(SignUp, forbid_unknown_fields=True):
    """The body of POST /users (admin)."""

    scopes: list[Scope] = msgspec.field(default_factory=lambda: list(DEFAULT_SCOPES))


class UserChanges(msgspec.Struct, forbid_unknown_fields=True):
    """The body of PATCH /users/{username} (admin): the fields given are changed, the others kept
    (an empty body changes nothing). Null is no value for either."""

    disabled: bool | msgspec.UnsetType = msgspec.UNSET
    scopes: list[Scope] | msgspec.UnsetType = msgspec.UNSET
    # A new address is unverified until its user follows the mailed link.
    email: Email | msgspec.UnsetType = msgspec.UNSET


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    """The body of POST /users/me/password."""

    current_password: Annotated[str, msgspec.Meta(max_length=passwords.MAX_LENGTH)]
    new_password: NewPassword


class ProfileChanges(msgspec.Struct, forbid_unknown_fields=True):
    """The body of PATCH /users/me: a new e-mail address (unverified until its link is followed)."""

    email: Email


class RecoveryRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The body of POST /auth/password-reset."""

    email: Annotated[str, msgspec.Meta(max_length=320)]


# 32 random bytes in URL-safe base64 are 43 characters; anything much longer is not one.
OneTimeTokenText = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True):
    """The body of POST /auth/password-reset/confirm."""

    token: OneTimeTokenText
    new_password: NewPassword


class EmailConfirmation(msgspec.Struct, forbid_unknown_fields=True):
    """The body of POST /auth/verify-email/confirm."""

    token: OneTimeTokenText


class Accepted(msgspec.Struct):
    """The one answer of POST /auth/password-reset, whoever the address belongs to."""

    detail: str = "If an account has that address, a link to reset its password is on its way"


class Item(msgspec.Struct):
    name: str
    owner: str


class Health(msgspec.Struct):
    status: str = "ok"


class ErrorDetail(msgspec.Struct):
    """The body of every 4xx answer except 422."""

    detail: str


class ServerError(msgspec.Struct):
    """The body of a 5xx answer: `request_id` finds the request's log lines."""

    detail: str
    request_id: str | None = None


class ValidationProblem(msgspec.Struct):
    loc: list[str]
    msg: str
    type: str


class ValidationErrorBody(msgspec.Struct):
    """The body of a 422 answer."""

    detail: list[ValidationProblem]


class TokenErrorBody(msgspec.Struct):
    """An error of POST /auth/token: RFC 6749 5.2's fields beside `detail`."""

    detail: str
    error: str
    error_description: str


class EmailNotVerifiedBody(msgspec.Struct):
    """403 from a route that needs a verified e-mail address (REQUIRE_VERIFIED_EMAIL)."""

    detail: str
    error: str = "email_not_verified"


class TokenValidationErrorBody(msgspec.Struct):
    """A 422 of POST /auth/token: the problems, and RFC 6749 5.2's `invalid_request`."""

    detail: list[ValidationProblem]
    error: str
    error_description: str


class PublicKey(msgspec.Struct, omit_defaults=True):
    """A public signing key as a JWK (RFC 7517): EC keys have crv, x, y; RSA keys n, e."""

    kty: str
    kid: str
    alg: str
    use: str
    crv: str | None = None
    x: str | None = None
    y: str | None = None
    n: str | None = None
    e: str | None = None


class KeySet(msgspec.Struct):
    """GET /.well-known/jwks.json (RFC 7517 5): empty while tokens are signed with a secret."""

    keys: list[PublicKey]


class ServerMetadata(msgspec.Struct):
    """GET /.well-known/oauth-authorization-server (RFC 8414 2)."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    scopes_supported: list[str]
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    response_types_supported: list[str]


class AuditEvent(msgspec.Struct, frozen=True):
    """One security event of the audit trail (audit.py): what GET /audit-events lists."""

    event: str
    time: float  # Unix seconds
    outcome: str  # success, failure or refused
    actor_id: str | None = None  # who did it: the token's user; none for logins, sign-ups, the CLI
    actor_name: str | None = None
    subject_id: str | None = None  # whom it was done to
    subject_name: str | None = None
    address: str | None = None  # the client address (after TRUSTED_PROXIES); none from the CLI
    request_id: str | None = None
    detail: str = ""


class AuditPage(msgspec.Struct):
    """One page of GET /audit-events; `next_offset` is null on the last page."""

    events: list[AuditEvent]
    next_offset: int | None = None
