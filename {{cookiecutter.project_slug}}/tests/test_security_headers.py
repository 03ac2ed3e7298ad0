"""Every answer carries the security headers once each, whatever route, status or content type,
and the Content-Security-Policy lets a page load from the service's own origin only."""

import pytest

from {{ cookiecutter.package_name }}.settings import settings

from .conftest import bearer, login, make_token

TOO_LARGE = {"username": "alice", "password": "p" * settings.max_body_bytes}
# One request for each kind of answer: HTML, scripts, JSON, empty bodies, and each error path.
ANSWERS = {
    "docs-page": lambda client: client.get("/docs"),
    "docs-script": lambda client: client.get("/docs/swagger-ui-bundle.js"),
    "openapi-document": lambda client: client.get("/openapi.json"),
    "health": lambda client: client.get("/health"),
    "login": lambda client: login(client),
    "user": lambda client: client.get("/users/me", headers=bearer(make_token())),
    "logout-no-body": lambda client: client.post("/auth/logout"),
    "unauthorized": lambda client: client.get("/items"),
    "forbidden-origin": lambda client: client.post("/auth/refresh", headers={"Origin": "https://evil.example"}),
    "not-found": lambda client: client.get("/no/such/page"),
    "too-large": lambda client: client.post("/auth/token", data=TOO_LARGE),
    "invalid-form": lambda client: client.post("/auth/token", data={"username": "alice"}),
}


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy as {directive: [sources]}."""
    [header] = response.headers.get_list("content-security-policy")
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


@pytest.mark.parametrize("kind", list(ANSWERS))
def test_every_answer_carries_the_headers_once(client, kind):
    response = ANSWERS[kind](client)
    assert response.status_code < 500
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert response.headers.get_list("referrer-policy") == ["no-referrer"]
    assert policy(response)["default-src"] == ["'self'"]


def test_the_policy_allows_the_own_origin_only(client):
    directives = policy(client.get("/docs"))
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]  # no other site may frame the docs
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    allowed = {"'self'", "'none'", "data:"}
    for name, sources in directives.items():
        # No host, no scheme but data:, no wildcard, no 'unsafe-inline' / 'unsafe-eval'.
        assert set(sources) <= allowed, f"{name} allows {set(sources) - allowed}"
        assert "data:" not in sources or name == "img-src", f"{name} allows data: URLs"
    # Scripts fall back to default-src 'self': same-origin files only, nothing inline.
    assert directives.get("script-src", ["'self'"]) == ["'self'"]
