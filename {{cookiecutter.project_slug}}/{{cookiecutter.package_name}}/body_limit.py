"""Refuses request bodies larger than a bound with 413, while a route reads them.

It counts what arrives rather than trusting Content-Length, so chunked bodies are bounded too,
and a route that never reads its body is not affected.
"""

from FasterAPI import HTTPException
from FasterAPI.types import ASGIApp


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: ASGIApp, send: ASGIApp) -> None:
        if scope["type"] != "http" or scope["method"] == "GET":  # GET routes never read a body
            await self.app(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, "Request body too large")
            return message

        await self.app(scope, receive_within_limit, send)
