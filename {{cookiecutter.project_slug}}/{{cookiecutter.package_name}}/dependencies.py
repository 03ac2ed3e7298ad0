"""Request dependencies: the current user from `Authorization: Bearer`, and the login form."""

from urllib.parse import parse_qs

import msgspec
from FasterAPI import HTTPException, Request, RequestValidationError

from .models import LoginForm, User
from .security import InvalidToken, decode_access_token
from .settings import settings
from .token_cache import VerifiedTokenCache
from .user_store import user_store

MAX_TOKEN_LENGTH = 4096
URLENCODED = "application/x-www-form-urlencoded"
FORM_TYPES = (URLENCODED, "multipart/form-data")
access_tokens = VerifiedTokenCache(decode_access_token)


def credentials_error() -> HTTPException:
    return HTTPException(401, "Could not validate credentials", {"WWW-Authenticate": "Bearer"})


async def get_current_user(request: Request) -> User:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        raise credentials_error()
    try:
        claims = access_tokens.verify(token)
    except InvalidToken:
        raise credentials_error() from None
    user = await user_store.get_cached(claims.sub)  # at most USER_CACHE_SECONDS old, if cached
    if user is None or user.disabled:
        raise credentials_error()
    return user.public()


async def read_login_form(request: Request) -> LoginForm:
    """The framework hands a missing form field to the handler as None: validate it here."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in FORM_TYPES:
        raise _invalid_form(f"Send the form as {' or '.join(FORM_TYPES)}")
    try:
        form = await request.form()  # also reads request.body
        if media_type == URLENCODED:  # the framework decodes these as latin-1; browsers send UTF-8
            fields = parse_qs(request.body.decode(), keep_blank_values=True, errors="strict")
            form = {name: values[0] if len(values) == 1 else values for name, values in fields.items()}
        return msgspec.convert(dict(form), LoginForm)
    except msgspec.ValidationError as exc:  # names the field, e.g. "... at `$.password`"
        raise _invalid_form(str(exc)) from None
    except ValueError:  # not UTF-8, or a broken multipart body
        raise _invalid_form("The body is not a readable form") from None


def _invalid_form(message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ["body"], "msg": message, "type": "value_error"}])


async def require_allowed_origin(request: Request) -> None:
    """Refuse cookie-carrying calls forced from another site (CSRF). A browser always sends
    Origin on a cross-site POST; clients that send none (curl, a CLI) are not browsers."""
    origin = request.headers.get("origin")
    if origin is None or origin in settings.extra_origins:
        return
    if origin.partition("://")[2] != request.headers.get("host"):
        raise HTTPException(403, "Origin not allowed")
