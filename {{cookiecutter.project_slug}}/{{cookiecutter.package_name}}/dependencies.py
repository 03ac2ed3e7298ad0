"""Request dependencies: the current user from `Authorization: Bearer` with the scopes a route
needs, the login form, JSON-body problems, and the origin check of cookie-carrying calls."""

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs

import msgspec
from FasterAPI import HTTPException, Request, RequestValidationError

from . import accounts, sessions, token_errors
from . import scopes as scope_names
from .models import LoginForm, User
from .passwords import WeakPassword
from .request_context import current
from .settings import settings
from .stores import LastAdmin, UserExists
from .tokens import InvalidToken

MAX_TOKEN_LENGTH = 4096
URLENCODED = "application/x-www-form-urlencoded"
FORM_TYPES = (URLENCODED, "multipart/form-data")

# RFC 6750 3.1: no error code when the request carried no bearer token at all.
NO_TOKEN_CHALLENGE = "Bearer"
INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'


def not_authenticated() -> HTTPException:
    return HTTPException(401, "Not authenticated", {"WWW-Authenticate": NO_TOKEN_CHALLENGE})


def credentials_error() -> HTTPException:
    """A bad, expired or revoked token, or one of a user who is gone or disabled."""
    return HTTPException(401, "Could not validate credentials", {"WWW-Authenticate": INVALID_TOKEN_CHALLENGE})


def require_scopes(*scopes: str, verified_email: bool = False) -> type:
    """A dependency giving the current user, for a valid access token that was granted every one
    of `scopes` and whose user has them now; else 401, or 403 `insufficient_scope` naming them
    (RFC 6750 3.1). With `verified_email`, while REQUIRE_VERIFIED_EMAIL is true, a user whose
    e-mail is not verified gets 403 `email_not_verified`. It is the route's one declaration:
    openapi.py reads its `scopes` and `verified_email` to document the route's security and its
    401/403 answers. Usage:

        async def read_reports(user: User = Depends(require_scopes("reports", verified_email=True))) -> ...
    """
    check_verified = verified_email and settings.require_verified_email
    needed = frozenset(scope_names.known(scopes))  # a misspelt scope fails at start, not per request
    challenge = f'Bearer error="insufficient_scope", scope="{" ".join(scopes)}"'

    class CurrentUser:
        """A class with `from_request`: the framework hands that the request as it is, where a
        function dependency costs a signature lookup and a keyword call on every request (about
        5% of a protected request)."""

        scopes: tuple[str, ...]
        verified_email: bool

        @staticmethod
        async def from_request(request: Request) -> User:
            scheme, _, token = authorization_header(request).partition(" ")
            if scheme.lower() != "bearer":
                raise not_authenticated()
            if not token or len(token) > MAX_TOKEN_LENGTH:
                raise credentials_error()
            try:
                user = await sessions.authenticate(token, needed)
            except InvalidToken:
                raise credentials_error() from None
            except sessions.MissingScope:
                raise HTTPException(403, "Not enough permissions", {"WWW-Authenticate": challenge}) from None
            if check_verified and not user.email_verified:
                raise email_not_verified()
            return user.public()

    CurrentUser.scopes, CurrentUser.verified_email = scopes, check_verified
    return CurrentUser


def authorization_header(request: Request) -> str:
    """As RequestContextMiddleware read it (main.py adds it to every app), or from the request."""
    context = current.get()
    return context.authorization if context is not None else request.headers.get("authorization", "")


class EmailNotVerified(Exception):
    """403 with `error: email_not_verified` (main.py answers it)."""


def email_not_verified() -> EmailNotVerified:
    return EmailNotVerified("Confirm your e-mail address first: POST /auth/verify-email sends a new link")


async def read_login_form(request: Request) -> LoginForm:
    """The framework hands a missing form field to the handler as None: validate it here. Every
    refusal is an OAuth2 error (token_errors.py)."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in FORM_TYPES:
        raise _invalid_form(f"Send the form as {' or '.join(FORM_TYPES)}")
    try:
        form = await request.form()  # also reads request.body
        if media_type == URLENCODED:  # the framework decodes these as latin-1; browsers send UTF-8
            fields = parse_qs(request.body.decode(), keep_blank_values=True, errors="strict")
            form = {name: values[0] if len(values) == 1 else values for name, values in fields.items()}
        grant_type = form.get("grant_type")
        if isinstance(grant_type, str) and grant_type not in ("", "password"):
            raise token_errors.unsupported_grant_type()
        return msgspec.convert(dict(form), LoginForm)
    except msgspec.ValidationError as exc:  # names the field, e.g. "... at `$.password`"
        raise _invalid_form(str(exc)) from None
    except ValueError:  # not UTF-8, or a broken multipart body
        raise _invalid_form("The body is not a readable form") from None


def _invalid_form(message: str) -> token_errors.TokenError:
    return token_errors.invalid_request([{"loc": ["body"], "msg": message, "type": "value_error"}])


def invalid_field(field: str, message: str, kind: str = "value_error", where: str = "body") -> RequestValidationError:
    """A 422 naming one field of the JSON body (or query), shaped as the framework's own."""
    return RequestValidationError([{"loc": [where, field], "msg": message, "type": kind}])


def query_value(request: Request, name: str) -> str | None:
    """One query parameter's text, or None. The framework hands a repeated one over as a list:
    that is a 422 naming it, never a 500 further on."""
    value = request.query_params.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_field(name, f"give {name} once", where="query")
    return value


@contextmanager
def account_refusals_answered() -> Iterator[None]:
    """Answers an account the rules refuse (accounts.py): 422 naming the field whose rule it
    broke, or 409 for a taken username. For sign-up and the admin routes alike."""
    try:
        yield
    except accounts.InvalidUsername as exc:
        raise invalid_field("username", str(exc)) from None
    except WeakPassword as exc:
        raise invalid_field("password", str(exc), exc.rule) from None
    except scope_names.InvalidScope as exc:
        raise invalid_field("scopes", str(exc)) from None
    except UserExists:
        raise HTTPException(409, "That username is taken") from None
    except LastAdmin as exc:
        raise HTTPException(409, str(exc).capitalize()) from None


async def require_allowed_origin(request: Request) -> None:
    """Refuse calls forced from another site (CSRF): those that carry the refresh cookie, and
    those that set one or make an account (login CSRF). A browser always sends Origin on a
    cross-site POST; clients that send none (curl, OAuth2 libraries) are not browsers."""
    origin = request.headers.get("origin")
    if origin is None or origin in settings.extra_origins:
        return
    if origin.partition("://")[2] != request.headers.get("host"):
        raise HTTPException(403, "Origin not allowed")
