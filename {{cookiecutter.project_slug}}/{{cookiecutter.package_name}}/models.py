"""The shapes of data in and out: msgspec Structs, also used to build the OpenAPI schemas."""

import operator
import secrets
from typing import Annotated

import msgspec

from .scopes import ADMIN, DEFAULT_SCOPES

# Letters, digits and . @ + - _ (as Django allows): no spaces, control characters or NUL, which
# some databases cannot store. Logins accept any name; only new accounts must match.
USERNAME_CHARACTERS = r"[\w.@+-]+"
USERNAME_PATTERN = f"^{USERNAME_CHARACTERS}$"
Username = Annotated[str, msgspec.Meta(min_length=1, max_length=150, pattern=USERNAME_PATTERN)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
# The rules (passwords.py) are checked by the routes, so that a refusal names the rule it broke.
NewPassword = Annotated[str, msgspec.Meta(description="8 to 4096 characters, not a common password")]


class User(msgspec.Struct):
    """A user as the API shows it."""

    username: str
    email: str | None = None
    disabled: bool = False


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
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    # Space separated; empty asks for every scope the user is allowed.
    scope: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    # "password", as OAuth2 clients send it, or empty: any other value is refused with 400.
    grant_type: str = ""


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

    scopes: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_SCOPES))


class UserChanges(msgspec.Struct, forbid_unknown_fields=True):
    """The body of PATCH /users/{username} (admin): the fields given are changed."""

    disabled: bool | None = None
    scopes: list[str] | None = None


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    """The body of POST /users/me/password."""

    current_password: Annotated[str, msgspec.Meta(max_length=4096)]
    new_password: NewPassword


class Item(msgspec.Struct):
    name: str
    owner: str


class Health(msgspec.Struct):
    status: str = "ok"


class ErrorDetail(msgspec.Struct):
    """The body of every 4xx answer except 422."""

    detail: str


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


class TokenValidationErrorBody(msgspec.Struct):
    """A 422 of POST /auth/token: the problems, and RFC 6749 5.2's `invalid_request`."""

    detail: list[ValidationProblem]
    error: str
    error_description: str
