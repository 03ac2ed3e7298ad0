"""Swagger UI at /docs, from files in this package: the page loads nothing from another origin, so
it works offline and under the Content-Security-Policy of security_headers.py.

swagger_ui/ holds swagger-ui-dist's files as published (its README.md says which release and how
to update them). The start-up script is ours, served as a file of its own because the policy
allows no inline script.
"""

import hashlib
import html
from pathlib import Path

from FasterAPI import Faster, HTMLResponse, Response

SWAGGER_UI = Path(__file__).parent / "swagger_ui"

# validatorUrl: null, or Swagger UI shows a badge image from swagger.io for a public document.
# The token from the Authorize dialog stays in the page's memory (no persistAuthorization).
START = b"""\
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null,
});
"""

PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{icon}">
<link rel="stylesheet" href="{css}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{bundle}"></script>
<script src="{start}"></script>
</body>
</html>
"""

FILES = {  # name under /docs/: (content, media type)
    "swagger-ui.css": ((SWAGGER_UI / "swagger-ui.css").read_bytes(), "text/css"),
    "swagger-ui-bundle.js": ((SWAGGER_UI / "swagger-ui-bundle.js").read_bytes(), "text/javascript"),
    "favicon-32x32.png": ((SWAGGER_UI / "favicon-32x32.png").read_bytes(), "image/png"),
    "start.js": (START, "text/javascript"),
}
# The page asks for each file by a URL naming its content (?v=<hash>): browsers may keep a file
# for good, and a changed file gets a new URL.
KEEP = {"Cache-Control": "public, max-age=31536000, immutable"}


def add_docs_routes(app: Faster) -> None:
    """Serve /docs and its files. Call it after generating the OpenAPI document: they stay out of it."""
    url = {name: add_file_route(app, name, content, media_type) for name, (content, media_type) in FILES.items()}
    page = PAGE.format(
        title=html.escape(f"{app.title} - API docs"),
        icon=url["favicon-32x32.png"],
        css=url["swagger-ui.css"],
        bundle=url["swagger-ui-bundle.js"],
        start=url["start.js"],
    )
    app.get("/docs", tags=["openapi"])(answer_with(HTMLResponse(page)))


def add_file_route(app: Faster, name: str, content: bytes, media_type: str) -> str:
    """Serve content at /docs/<name>; return the URL the page asks for it by."""
    app.get(f"/docs/{name}", tags=["openapi"])(answer_with(Response(content, 200, KEEP, media_type)))
    return f"/docs/{name}?v={hashlib.sha256(content).hexdigest()[:16]}"


def answer_with(response: Response):
    """A route that gives the same, ready-made answer every time."""

    async def route() -> Response:
        return response

    return route
