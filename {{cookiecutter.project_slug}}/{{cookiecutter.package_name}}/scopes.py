"""OAuth2 scopes: what a token may be used for.

Each user has allowed scopes (stored with the user). A token gets the intersection of the scopes
its login asked for with those, never more: asking is not getting (FastAPI's tutorial 005 grants
whatever is asked). Routes state what they need with `require_scopes` (dependencies.py).

To add a scope: add it to SCOPES (the docs' Authorize dialog lists it), give it to users
(the admin routes, or docs/scopes.md for other ways), and protect a route with
`Depends(require_scopes("reports"))`.
"""

from collections.abc import Iterable

# Name: what it lets a token do. The order here is the order tokens list them in.
SCOPES = {
    "me": "Read your own account",
    "items": "Read your items",
    "admin": "Manage users",
}
ADMIN = "admin"  # the scope of the admin routes: the service always keeps one enabled user with it
# What a new user gets unless told otherwise.
DEFAULT_SCOPES = ("me", "items")


class InvalidScope(ValueError):
    """An unknown scope name, or a request that would be granted no scope at all."""


def known(names: Iterable[str]) -> tuple[str, ...]:
    """The names in SCOPES order, each once; InvalidScope naming the first unknown one."""
    names = set(names)
    unknown = sorted(names - SCOPES.keys())
    if unknown:
        raise InvalidScope(f"unknown scope {unknown[0]!r}: the scopes are {', '.join(SCOPES)}")
    return tuple(scope for scope in SCOPES if scope in names)


def parse(text: str) -> tuple[str, ...]:
    """A space-separated `scope` value (RFC 6749 3.3), checked."""
    return known(text.split())


def grant(requested: Iterable[str], allowed: Iterable[str]) -> tuple[str, ...]:
    """The scopes a token gets: those requested that the user is allowed, or all the user is
    allowed when none were requested. InvalidScope when that leaves none."""
    requested, allowed = set(requested), set(allowed)
    granted = tuple(scope for scope in SCOPES if scope in allowed and (not requested or scope in requested))
    if not granted:
        raise InvalidScope("none of the requested scopes is allowed for this user")
    return granted
