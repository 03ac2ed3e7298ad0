"""What every log line and audit event of a request says about it: its request id, its client
address and, once a token was checked, its user (the actor). And the Authorization header, picked
up in the same one pass over the raw headers: the framework's `request.headers` decodes every
header into a new dict, which costs about 6% of a protected request.

One `RequestContext` per request lives in a contextvar, set by `RequestContextMiddleware`, so
services (accounts.py, sessions.py) and the log formatter read it without routers passing it on.
The request id comes from X-Request-ID only when the socket peer is in TRUSTED_PROXIES (anyone
else could write one to pollute the logs); otherwise it is made here. It is sent back in
X-Request-ID on every answer. The client address is worked out only when something asks for it
(an audit event), so a protected route pays for none of it.
"""

import os
import re
from contextvars import ContextVar

from . import client_address

# Ids from a proxy are kept when they look like ids: no spaces, quotes or control characters.
GIVEN_ID = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")


class RequestContext:
    __slots__ = ("actor_id", "actor_name", "authorization", "forwarded_for", "peer", "request_id")

    def __init__(self, request_id: str, peer: str, forwarded_for: str, authorization: str = "") -> None:
        self.request_id = request_id
        self.peer = peer
        self.forwarded_for = forwarded_for
        self.authorization = authorization  # read by dependencies.require_scopes
        self.actor_id: str | None = None  # set by sessions.authenticate
        self.actor_name: str | None = None

    @property
    def address(self) -> str:
        return client_address.client_address(self.peer, self.forwarded_for)


current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def new_request_id() -> str:
    return os.urandom(16).hex()


def request_id() -> str | None:
    context = current.get()
    return context.request_id if context else None


class RequestContextMiddleware:
    """The outermost layer: every later layer, handler and log line of the request sees the context."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, scope: dict, receive, send):
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        peer = scope["client"][0] if scope.get("client") else ""
        given = forwarded = authorization = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-request-id":
                given = value
            elif name == b"x-forwarded-for":
                forwarded = value
        if given and GIVEN_ID.fullmatch(given) and client_address.is_trusted(peer, client_address.TRUSTED):
            rid = given.decode()
        else:
            rid = new_request_id()
        current.set(RequestContext(rid, peer, forwarded.decode("latin-1"), authorization.decode("latin-1")))
        header = (b"x-request-id", rid.encode())

        def send_with_id(message):  # unannotated: annotations would be evaluated on every request
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            return send(message)

        return self.app(scope, receive, send_with_id)
