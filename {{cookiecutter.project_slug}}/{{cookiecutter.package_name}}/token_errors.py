"""The error answers of POST /auth/token in the shape OAuth2 clients read (RFC 6749 5.2):
`error` and `error_description` beside the `detail` every other error answer has.

OAuth2 client libraries raise their own errors (authlib's OAuthError, requests-oauthlib's
InvalidGrantError...) from the `error` field; without it, authlib takes the body for a token.
"""

import re

from FasterAPI import JSONResponse, Request

# RFC 6749 5.2 allows only these characters in error_description.
NOT_ALLOWED_IN_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


class TokenError(Exception):
    """Raised by the login route and its form reader; main.py answers it with token_error_response."""

    def __init__(
        self, status: int, error: str, description: str, detail: object = None, headers: dict | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = NOT_ALLOWED_IN_DESCRIPTION.sub("?", description)
        self.detail = description if detail is None else detail
        self.headers = headers or {}


def invalid_grant() -> TokenError:
    # 401, not RFC 6749's 400: FastAPI's guide answers 401, as this service always has. One
    # answer for a wrong password, an unknown user and a disabled one: it tells them not apart.
    detail = "Incorrect username or password"
    return TokenError(401, "invalid_grant", detail, headers={"WWW-Authenticate": "Bearer"})


def invalid_request(problems: list[dict]) -> TokenError:
    """A 422 whose `detail` is the usual list of problems, each naming its field."""
    return TokenError(422, "invalid_request", "; ".join(problem["msg"] for problem in problems), detail=problems)


def unsupported_grant_type() -> TokenError:
    return TokenError(400, "unsupported_grant_type", "Only grant_type=password is supported")


def invalid_scope(description: str) -> TokenError:
    return TokenError(400, "invalid_scope", description)


async def token_error_response(request: Request, exc: TokenError) -> JSONResponse:
    body = {"detail": exc.detail, "error": exc.error, "error_description": exc.description}
    return JSONResponse(body, exc.status, {"Cache-Control": "no-store", **exc.headers})
