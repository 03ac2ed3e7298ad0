"""The OpenAPI document against the service's real answers: the docs' Authorize button works,
every documented status is really produced, with the documented content type and body shape,
and no request gets a status the document does not list.
"""

import time

import pytest

from {{ cookiecutter.package_name }} import hashing
from {{ cookiecutter.package_name }}.scopes import SCOPES
from {{ cookiecutter.package_name }}.settings import settings

from .conftest import admin_token, bearer, login, make_token, new_user, signup_allowed

FORM = "application/x-www-form-urlencoded"
METHODS = ("get", "post", "put", "patch", "delete")


def operations(spec: dict) -> list[tuple[str, str, dict]]:
    """(method, path, operation) for every operation the document lists."""
    found = []
    for path, item in spec["paths"].items():
        found += [(method, path, item[method]) for method in METHODS if method in item]
    return found


def password_flow_schemes(spec: dict) -> list[str]:
    schemes = spec.get("components", {}).get("securitySchemes", {})
    return [
        name
        for name, scheme in schemes.items()
        if scheme["type"] == "oauth2" and scheme["flows"].get("password", {}).get("tokenUrl") == "/auth/token"
    ]


# --- A checker for the part of OpenAPI 3.0 schemas this API uses ----------------------------

SCHEMA_WORDS = {"$ref", "type", "properties", "required", "items", "nullable", "minLength", "maxLength"}
NOTES = {"title", "description"}  # documentation only
JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}


def check(value: object, schema: dict, spec: dict, where: str = "body") -> None:
    """Assert that value is valid for schema. Properties the schema does not name are refused."""
    unknown = set(schema) - SCHEMA_WORDS - NOTES
    assert not unknown, f"{where}: this checker does not handle {unknown}: extend it"
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        check(value, spec["components"]["schemas"][name], spec, where)
        return
    if value is None:
        assert schema.get("nullable"), f"{where}: null where the schema allows none"
        return
    kind = schema["type"]
    is_bool_as_int = kind in ("integer", "number") and isinstance(value, bool)
    assert isinstance(value, JSON_TYPES[kind]) and not is_bool_as_int, f"{where}: {value!r} is not {kind}"
    if kind == "object":
        properties = schema.get("properties", {})
        missing = set(schema.get("required", [])) - set(value)
        assert not missing, f"{where}: required {missing} missing"
        undocumented = set(value) - set(properties)
        assert not undocumented, f"{where}: {undocumented} not in the schema"
        for name, item in value.items():
            check(item, properties[name], spec, f"{where}.{name}")
    elif kind == "array":
        for index, item in enumerate(value):
            check(item, schema["items"], spec, f"{where}[{index}]")
    elif kind == "string":
        assert len(value) >= schema.get("minLength", 0), f"{where}: too short"
        assert len(value) <= schema.get("maxLength", len(value)), f"{where}: too long"


USER = {"$ref": "#/components/schemas/User"}
ITEMS = {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}


def test_the_checker_accepts_what_the_schema_allows(spec):
    check({"username": "alice", "email": None, "disabled": False}, USER, spec)
    check({"username": "alice"}, USER, spec)
    check([{"name": "Widget", "owner": "alice"}], ITEMS, spec)
    check([], ITEMS, spec)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"username": "alice", "password": "secret"}, id="property-not-in-the-schema"),
        pytest.param({"email": "alice@example.com"}, id="required-property-missing"),
        pytest.param({"username": 1}, id="number-for-a-string"),
        pytest.param({"username": None}, id="null-not-nullable"),
        pytest.param({"username": "alice", "disabled": "no"}, id="string-for-a-boolean"),
        pytest.param([{"username": "alice"}], id="array-for-an-object"),
        pytest.param("alice", id="string-for-an-object"),
    ],
)
def test_the_checker_refuses_what_the_schema_does_not_allow(spec, body):
    with pytest.raises(AssertionError):
        check(body, USER, spec)


def assert_documented(spec: dict, method: str, path: str, response) -> None:
    """The response's status is documented for the operation, with its content type and shape."""
    responses = spec["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path} answered {status}, documented: {sorted(responses)}"
    documented = responses[status]
    if "content" not in documented:
        assert response.content == b"", f"{method.upper()} {path} {status}: a body where none is documented"
        assert "content-type" not in response.headers
        return
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert media_type in documented["content"], f"{method.upper()} {path} {status}: {media_type!r}"
    check(response.json(), documented["content"][media_type]["schema"], spec, f"{method.upper()} {path} {status}")


# --- Security scheme and form body -----------------------------------------------------------


def test_an_oauth2_password_flow_points_at_the_login_route(spec):
    assert len(password_flow_schemes(spec)) == 1
    assert ("post", "/auth/token") in {(method, path) for method, path, _ in operations(spec)}


def test_the_scheme_advertises_every_scope_with_a_description(spec):
    [scheme] = password_flow_schemes(spec)
    advertised = spec["components"]["securitySchemes"][scheme]["flows"]["password"]["scopes"]
    assert advertised == SCOPES
    assert set(advertised) == {"me", "items", "admin"}
    assert all(advertised.values())


# The scopes each protected operation needs, as its `security` declares them.
NEEDED_SCOPES = {
    ("get", "/users/me"): ["me"],
    ("post", "/users/me/password"): ["me"],
    ("get", "/items"): ["items"],
    ("get", "/users"): ["admin"],
    ("post", "/users"): ["admin"],
    ("patch", "/users/{username}"): ["admin"],
    ("post", "/users/{username}/logout-all"): ["admin"],
}


def test_protected_operations_declare_the_scopes_they_need(spec):
    [scheme] = password_flow_schemes(spec)
    declared = {
        (method, path): requirement[scheme]
        for method, path, operation in operations(spec)
        for requirement in operation.get("security", [])
    }
    assert declared == NEEDED_SCOPES


def test_exactly_the_operations_that_need_a_bearer_token_declare_it(client, spec):
    """An operation needs the token when a bare request gets the bearer challenge."""
    [scheme] = password_flow_schemes(spec)
    for method, path, operation in operations(spec):
        bare = getattr(client, method)(path)
        needs_token = bare.status_code == 401 and bare.headers.get("www-authenticate") == "Bearer"
        declares = any(scheme in requirement for requirement in operation.get("security", []))
        assert declares == needs_token, (method, path, bare.status_code)


def test_a_token_without_the_scope_gets_the_rfc_6750_challenge_naming_it(client):
    for (method, path), needed in NEEDED_SCOPES.items():
        response = getattr(client, method)(path.replace("{username}", "alice"), headers=bearer(make_token(scope="")))
        assert response.status_code == 403, (method, path)
        challenge = f'Bearer error="insufficient_scope", scope="{" ".join(needed)}"'
        assert response.headers["www-authenticate"] == challenge


def test_login_documents_its_form_body(spec):
    body = spec["paths"]["/auth/token"]["post"]["requestBody"]
    assert body["required"] is True
    schema = body["content"][FORM]["schema"]
    assert set(schema["properties"]) == {"username", "password", "scope", "grant_type"}
    assert set(schema["required"]) == {"username", "password"}
    assert {field["type"] for field in schema["properties"].values()} == {"string"}


def test_login_accepts_the_documented_content_types_and_no_other(client, spec):
    documented = set(spec["paths"]["/auth/token"]["post"]["requestBody"]["content"])
    alice = {"username": "alice", "password": "secret"}
    as_text = b"username=alice&password=secret"
    sent_as = {
        FORM: {"data": alice},
        "multipart/form-data": {"files": {name: (None, value) for name, value in alice.items()}},
        "text/plain": {"content": as_text, "headers": {"Content-Type": "text/plain"}},
        "application/json": {"content": as_text, "headers": {"Content-Type": "application/json"}},
    }
    for media_type, request_kwargs in sent_as.items():
        response = client.post("/auth/token", **request_kwargs)
        assert (response.status_code == 200) == (media_type in documented), (media_type, response.status_code)
        assert_documented(spec, "post", "/auth/token", response)


def test_the_docs_page_is_not_in_the_document(spec):
    """/docs and its files are served after the document is made: they are no API operation."""
    assert not [path for path in spec["paths"] if path.startswith("/docs")]


# --- Every documented status, produced for real ---------------------------------------------


def refresh_cookie(client) -> dict[str, str]:
    return {"Cookie": login(client).headers["set-cookie"].split(";")[0]}


def throttled(client):
    for _ in range(settings.login_failures_per_user):
        login(client, "alice", "wrong")
    return login(client)


def while_every_hashing_thread_is_taken(client, request=login):
    saved = hashing.password_checks.limit
    hashing.password_checks.limit = 0
    try:
        return request(client)
    finally:
        hashing.password_checks.limit = saved


def password_change_throttled(client):
    """Wrong current passwords count as failed logins do: past the limit, 429."""
    headers = own_token()
    for _ in range(settings.login_failures_per_user):
        change_password(client, headers, current="not the password")
    return change_password(client, headers)


def creations_throttled(create):
    """More accounts from one address than ACCOUNTS_PER_ADDRESS: the last is refused."""
    for _ in range(settings.accounts_per_address):
        create()
    return create()


CROSS_SITE = {"Origin": "https://evil.example"}
TOO_LARGE = {"username": "alice", "password": "p" * settings.max_body_bytes}
STRONG = "a password nobody has ever used"


def own_cookie(client) -> dict[str, str]:
    """The refresh cookie of a new user's login: for calls that end all of a user's sessions."""
    response = login(client, new_user(STRONG), STRONG)
    return {"Cookie": response.headers["set-cookie"].split(";")[0]}


def own_token() -> dict[str, str]:
    return bearer(make_token(sub=new_user(STRONG)))


def unique(prefix: str = "probe") -> str:
    return f"{prefix}{time.monotonic_ns()}"


def create_user(client):
    return client.post("/users", headers=admin_token(), json={"username": unique(), "password": STRONG})


def with_signup_allowed(send):
    with signup_allowed():
        return send()


def register(client, body: dict, allowed: bool = True):
    if not allowed:
        return client.post("/auth/register", json=body)
    with signup_allowed():
        return client.post("/auth/register", json=body)


def change_password(client, headers: dict, new: str = "another password nobody used", current: str = STRONG):
    return client.post("/users/me/password", headers=headers, json={"current_password": current, "new_password": new})


# One request for each (method, path, status) the document lists, that really gets that status.
PROBES = {
    ("post", "/auth/token", 200): lambda client: login(client),
    ("post", "/auth/token", 400): lambda client: client.post(
        "/auth/token", data={"username": "alice", "password": "secret", "grant_type": "client_credentials"}
    ),
    ("post", "/auth/token", 401): lambda client: login(client, "alice", "wrong"),
    ("post", "/auth/token", 403): lambda client: client.post(
        "/auth/token", data={"username": "alice", "password": "secret"}, headers=CROSS_SITE
    ),
    ("post", "/auth/token", 413): lambda client: client.post("/auth/token", data=TOO_LARGE),
    ("post", "/auth/token", 422): lambda client: client.post("/auth/token", data={"username": "alice"}),
    ("post", "/auth/token", 429): throttled,
    ("post", "/auth/token", 503): while_every_hashing_thread_is_taken,
    ("post", "/auth/refresh", 200): lambda client: client.post("/auth/refresh", headers=refresh_cookie(client)),
    ("post", "/auth/refresh", 401): lambda client: client.post("/auth/refresh"),
    ("post", "/auth/refresh", 403): lambda client: client.post(
        "/auth/refresh", headers={**refresh_cookie(client), **CROSS_SITE}
    ),
    ("post", "/auth/logout", 204): lambda client: client.post("/auth/logout", headers=refresh_cookie(client)),
    ("post", "/auth/logout", 403): lambda client: client.post(
        "/auth/logout", headers={**refresh_cookie(client), **CROSS_SITE}
    ),
    ("post", "/auth/logout-all", 204): lambda client: client.post("/auth/logout-all", headers=own_cookie(client)),
    ("post", "/auth/logout-all", 401): lambda client: client.post("/auth/logout-all"),
    ("post", "/auth/logout-all", 403): lambda client: client.post(
        "/auth/logout-all", headers={**own_cookie(client), **CROSS_SITE}
    ),
    ("post", "/auth/register", 201): lambda client: register(client, {"username": unique(), "password": STRONG}),
    ("post", "/auth/register", 403): lambda client: with_signup_allowed(
        lambda: client.post("/auth/register", json={"username": unique(), "password": STRONG}, headers=CROSS_SITE)
    ),
    ("post", "/auth/register", 404): lambda client: register(client, {"username": unique()}, allowed=False),
    ("post", "/auth/register", 409): lambda client: register(client, {"username": "alice", "password": STRONG}),
    ("post", "/auth/register", 413): lambda client: register(client, TOO_LARGE),
    ("post", "/auth/register", 422): lambda client: register(client, {"username": unique(), "password": "secret"}),
    ("post", "/auth/register", 429): lambda client: creations_throttled(
        lambda: register(client, {"username": unique(), "password": STRONG})
    ),
    ("post", "/auth/register", 503): lambda client: while_every_hashing_thread_is_taken(
        client, lambda client: register(client, {"username": unique(), "password": STRONG})
    ),
    ("get", "/users/me", 200): lambda client: client.get("/users/me", headers=bearer(make_token())),
    ("get", "/users/me", 401): lambda client: client.get("/users/me"),
    ("get", "/users/me", 403): lambda client: client.get("/users/me", headers=bearer(make_token(scope="items"))),
    ("post", "/users/me/password", 204): lambda client: change_password(client, own_token()),
    ("post", "/users/me/password", 401): lambda client: change_password(client, {}),
    ("post", "/users/me/password", 403): lambda client: change_password(client, bearer(make_token(scope="items"))),
    ("post", "/users/me/password", 413): lambda client: client.post(
        "/users/me/password", headers=bearer(make_token()), json=TOO_LARGE
    ),
    ("post", "/users/me/password", 422): lambda client: change_password(client, bearer(make_token()), new="short"),
    ("post", "/users/me/password", 429): password_change_throttled,
    ("post", "/users/me/password", 503): lambda client: while_every_hashing_thread_is_taken(
        client, lambda client: change_password(client, own_token())
    ),
    ("get", "/users", 200): lambda client: client.get("/users", headers=admin_token()),
    ("get", "/users", 401): lambda client: client.get("/users"),
    ("get", "/users", 403): lambda client: client.get("/users", headers=bearer(make_token())),
    ("get", "/users", 422): lambda client: client.get("/users?limit=0", headers=admin_token()),
    ("post", "/users", 201): lambda client: client.post(
        "/users", headers=admin_token(), json={"username": unique(), "password": STRONG, "scopes": ["me"]}
    ),
    ("post", "/users", 401): lambda client: client.post("/users", json={"username": unique(), "password": STRONG}),
    ("post", "/users", 403): lambda client: client.post(
        "/users", headers=bearer(make_token()), json={"username": unique(), "password": STRONG}
    ),
    ("post", "/users", 409): lambda client: client.post(
        "/users", headers=admin_token(), json={"username": "alice", "password": STRONG}
    ),
    ("post", "/users", 413): lambda client: client.post("/users", headers=admin_token(), json=TOO_LARGE),
    ("post", "/users", 422): lambda client: client.post("/users", headers=admin_token(), json={"username": "x"}),
    ("post", "/users", 429): lambda client: creations_throttled(
        lambda: client.post("/users", headers=admin_token(), json={"username": unique(), "password": STRONG})
    ),
    ("post", "/users", 503): lambda client: while_every_hashing_thread_is_taken(client, create_user),
    ("post", "/users/{username}/logout-all", 204): lambda client: client.post(
        f"/users/{new_user()}/logout-all", headers=admin_token()
    ),
    ("post", "/users/{username}/logout-all", 401): lambda client: client.post("/users/alice/logout-all"),
    ("post", "/users/{username}/logout-all", 403): lambda client: client.post(
        "/users/alice/logout-all", headers=bearer(make_token())
    ),
    ("post", "/users/{username}/logout-all", 404): lambda client: client.post(
        "/users/nobody-at-all/logout-all", headers=admin_token()
    ),
    ("patch", "/users/{username}", 200): lambda client: client.patch(
        f"/users/{new_user()}", headers=admin_token(), json={"scopes": ["me"]}
    ),
    ("patch", "/users/{username}", 401): lambda client: client.patch("/users/alice", json={"disabled": True}),
    ("patch", "/users/{username}", 403): lambda client: client.patch(
        "/users/alice", headers=bearer(make_token()), json={"disabled": True}
    ),
    ("patch", "/users/{username}", 404): lambda client: client.patch(
        "/users/nobody-at-all", headers=admin_token(), json={"disabled": True}
    ),
    ("patch", "/users/{username}", 409): lambda client: client.patch(
        "/users/root", headers=admin_token(), json={"disabled": True}
    ),
    ("patch", "/users/{username}", 413): lambda client: client.patch(
        "/users/alice", headers=admin_token(), json=TOO_LARGE
    ),
    ("patch", "/users/{username}", 422): lambda client: client.patch("/users/alice", headers=admin_token(), json={}),
    ("get", "/items", 200): lambda client: client.get("/items", headers=bearer(make_token())),
    ("get", "/items", 401): lambda client: client.get("/items", headers=bearer(make_token(exp=1_000_000_000))),
    ("get", "/items", 403): lambda client: client.get("/items", headers=bearer(make_token(scope="me"))),
    ("get", "/health", 200): lambda client: client.get("/health"),
    ("get", "/health/ready", 200): lambda client: client.get("/health/ready"),
}
# 503 (the database is down) is documented on every route that reads it, with a SQL database
# only: its tests (test_database.py) stop the database and produce it on each of those routes.
# Login's 503 (too many password checks waiting) has its probe above.
DATABASE_DOWN = 503


@pytest.mark.parametrize(("method", "path", "status"), list(PROBES))
def test_documented_status_is_real_and_shaped_as_documented(client, spec, cheap_hashing, method, path, status):
    response = PROBES[method, path, status](client)
    assert response.status_code == status, response.text
    assert_documented(spec, method, path, response)


def test_every_documented_status_has_a_probe(spec):
    """A status the document lists that nothing produces, or one it misses, fails here.
    (/openapi.json, /docs and the docs' files are not in the document; test_docs.py covers them.)"""
    documented = {(method, path, int(status)) for method, path, op in operations(spec) for status in op["responses"]}
    assert {answer for answer in documented if answer[2] != DATABASE_DOWN or answer in PROBES} == set(PROBES)


# Odd but harmless requests: whatever each one gets must be a documented answer.
ODD_REQUESTS = [
    ("get", "/users/me", {"headers": {"Authorization": "Basic YWxpY2U6c2VjcmV0"}}),
    ("get", "/users/me", {"headers": bearer(make_token(sub="mallory"))}),
    ("get", "/items", {"headers": {"Authorization": "Bearer " + "a" * 10_000}}),
    ("get", "/items", {"headers": bearer(make_token(type="refresh", fam="family"))}),
    ("get", "/health", {"headers": {"Authorization": "Bearer garbage"}}),
    ("post", "/auth/token", {"json": {"username": "alice", "password": "secret"}}),
    ("post", "/auth/token", {"content": b"username=alice&password=secret", "headers": {"Content-Type": "text/plain"}}),
    ("post", "/auth/token", {"data": {"username": "nobody", "password": "secret"}}),
    ("post", "/auth/token", {"data": {"username": "alice", "password": "p" * 100}}),
    ("post", "/auth/token", {"files": {"username": ("u.txt", b"alice")}, "data": {"password": "secret"}}),
    ("post", "/auth/token", {"content": b"\xff" * 100, "headers": {"Content-Type": "multipart/form-data; boundary=x"}}),
    ("post", "/auth/refresh", {"headers": {"Cookie": "refresh_token=garbage"}}),
    ("post", "/auth/refresh", {"headers": {"Cookie": f"refresh_token={make_token()}"}}),
    ("post", "/auth/refresh", {"headers": {"Origin": "null"}}),
    ("post", "/auth/refresh", {"content": b"x" * 100_000}),
    ("post", "/auth/logout", {"headers": {"Cookie": "refresh_token=garbage"}}),
    ("post", "/auth/logout", {"content": b"x" * 100_000}),
    ("post", "/auth/token", {"data": {"username": "alice", "password": "secret", "scope": "root"}}),
    ("post", "/auth/token", {"data": {"username": "alice", "password": "secret", "scope": "admin"}}),
    ("post", "/auth/token", {"data": {"username": "alice", "password": "secret", "grant_type": "refresh_token"}}),
    ("post", "/auth/logout-all", {"headers": {"Cookie": "refresh_token=garbage"}}),
    ("post", "/auth/register", {"json": {"username": "alice", "password": STRONG}}),
    ("post", "/users/me/password", {"headers": bearer(make_token()), "json": {"current_password": "wrong"}}),
    ("post", "/users/me/password", {"headers": bearer(make_token()), "content": b"not json"}),
    ("get", "/users", {"headers": admin_token(), "params": {"offset": "-1", "limit": "ten"}}),
    ("get", "/users", {"headers": admin_token(), "params": {"offset": "99999999999999999999"}}),
    ("post", "/users", {"headers": admin_token(), "json": [1, 2]}),
    ("post", "/users", {"headers": admin_token(), "json": {"username": "x y", "password": STRONG}}),
    ("patch", "/users/alice", {"headers": admin_token(), "json": {"scopes": ["root"]}}),
    ("patch", "/users/alice", {"headers": admin_token(), "json": {"disabled": "yes"}}),
    ("patch", "/users/" + "a" * 5000, {"headers": admin_token(), "json": {"disabled": False}}),
]


@pytest.mark.parametrize(("method", "path", "request_kwargs"), ODD_REQUESTS)
def test_odd_requests_get_documented_answers(client, spec, cheap_hashing, method, path, request_kwargs):
    response = getattr(client, method)(path, **request_kwargs)
    documented_path = "/users/{username}" if method == "patch" else path
    assert_documented(spec, method, documented_path, response)
