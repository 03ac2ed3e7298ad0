"""Limits every request meets before a route sees it, in one middleware:

- headers: more than MAX_HEADERS of them, or more than MAX_HEADER_BYTES of names and values in
  all, get 431. uvicorn's default parser (httptools) sets no bound of its own, however the
  service is started;
- a request body must be JSON (Content-Type `application/json`, or `application/*+json`; any
  parameters), except on the form routes (POST /auth/token, which checks its own): else 415. A
  `text/plain` or form body is what a page of another site can send without a CORS preflight, so
  refusing it keeps such requests away from the JSON routes. A request with no body needs no
  Content-Type (POST /auth/refresh with only the cookie);
- a body larger than MAX_BODY_BYTES gets 413 while a route reads it. It counts what arrives
  rather than trusting Content-Length, so chunked bodies are bounded too, and a route that never
  reads its body is not affected.

It runs on every request: a GET pays one loop over its headers, which allocates nothing.
"""

from collections.abc import Awaitable, Iterable

import msgspec
from FasterAPI import HTTPException
from FasterAPI.types import ASGIApp

JSON = b"application/json"
NOT_JSON = "Send the request body as JSON, with Content-Type: application/json"


class RequestLimits:
    def __init__(
        self, app: ASGIApp, max_body_bytes: int, max_header_bytes: int, max_headers: int, form_paths: Iterable[str]
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.form_paths = frozenset(form_paths)
        self.too_many = f"More than {max_headers} request headers"
        self.too_large = f"Request headers larger than {max_header_bytes} bytes in all"

    def __call__(self, scope: dict, receive: ASGIApp, send: ASGIApp) -> Awaitable[None]:
        # A plain function that hands back what it wraps (as security_headers.py does): no
        # coroutine of its own on the hot path.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        headers = scope["headers"]
        if len(headers) > self.max_headers:
            return refuse(send, 431, self.too_many)
        size = 0
        for name, value in headers:
            size += len(name) + len(value)
        if size > self.max_header_bytes:
            return refuse(send, 431, self.too_large)
        if scope["method"] == "GET":  # GET routes never read a body
            return self.app(scope, receive, send)
        return self.with_body(scope, receive, send)

    async def with_body(self, scope: dict, receive: ASGIApp, send: ASGIApp) -> None:
        has_body, content_type = False, b""
        for name, value in scope["headers"]:  # names come lower-cased (ASGI)
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                has_body = has_body or value.strip() != b"0"
            elif name == b"transfer-encoding":
                has_body = True
        if has_body and not is_json(content_type) and scope["path"] not in self.form_paths:
            await refuse(send, 415, NOT_JSON)
            return
        received = 0

        async def receive_within_limit() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise HTTPException(413, "Request body too large")
            return message

        await self.app(scope, receive_within_limit, send)


def is_json(content_type: bytes) -> bool:
    media_type = content_type.partition(b";")[0].strip().lower()
    return media_type == JSON or (media_type.startswith(b"application/") and media_type.endswith(b"+json"))


async def refuse(send: ASGIApp, status: int, detail: str) -> None:
    body = msgspec.json.encode({"detail": detail})
    headers = [(b"content-type", JSON), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
