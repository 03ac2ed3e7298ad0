"""The shapes of data in and out: msgspec Structs, also used to build the OpenAPI schemas."""

from typing import Annotated

import msgspec


class User(msgspec.Struct):
    """A user as the API shows it."""

    username: str
    email: str | None = None
    disabled: bool = False


class UserInDB(User, kw_only=True):
    """A user as the store keeps it: never returned by a route."""

    hashed_password: str
    scopes: tuple[str, ...] = ()  # what the user may be granted
    # Unix times in seconds, as in token claims.
    created_at: float = 0.0
    password_changed_at: float = 0.0

    def public(self) -> User:
        return User(username=self.username, email=self.email, disabled=self.disabled)


class LoginForm(msgspec.Struct):
    """The OAuth2 password form of POST /auth/token. Bounds keep hashing work per request small."""

    username: Annotated[str, msgspec.Meta(min_length=1, max_length=150)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str = "bearer"


class Item(msgspec.Struct):
    name: str
    owner: str


class Health(msgspec.Struct):
    status: str = "ok"


class ErrorDetail(msgspec.Struct):
    """The body of every 4xx answer except 422."""

    detail: str


class OAuthErrorBody(msgspec.Struct):
    """An error of the token endpoint as OAuth2 clients read it (RFC 6749 5.2), with `detail`
    as every other error body has it."""

    error: str
    error_description: str
    detail: str


class ValidationProblem(msgspec.Struct):
    loc: list[str]
    msg: str
    type: str


class ValidationErrorBody(msgspec.Struct):
    """The body of a 422 answer."""

    detail: list[ValidationProblem]
