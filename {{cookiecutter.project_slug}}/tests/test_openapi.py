"""The OpenAPI document against the service's real answers: the docs' Authorize button works,
every documented status is really produced, with the documented content type and body shape,
and no request gets a status the document does not list.
"""

import pytest

from {{ cookiecutter.package_name }} import security
from {{ cookiecutter.package_name }}.settings import settings

from .conftest import bearer, login, make_token

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
JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int}


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
    is_bool_as_int = kind == "integer" and isinstance(value, bool)
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


def test_users_me_and_items_declare_the_scheme(spec):
    [scheme] = password_flow_schemes(spec)
    for path in ("/users/me", "/items"):
        assert {scheme: []} in spec["paths"][path]["get"].get("security", []), path


def test_exactly_the_operations_that_need_a_bearer_token_declare_it(client, spec):
    """An operation needs the token when a bare request gets the bearer challenge."""
    [scheme] = password_flow_schemes(spec)
    for method, path, operation in operations(spec):
        bare = getattr(client, method)(path)
        needs_token = bare.status_code == 401 and bare.headers.get("www-authenticate") == "Bearer"
        declares = {scheme: []} in operation.get("security", [])
        assert declares == needs_token, (method, path, bare.status_code)


def test_login_documents_its_form_body(spec):
    body = spec["paths"]["/auth/token"]["post"]["requestBody"]
    assert body["required"] is True
    schema = body["content"][FORM]["schema"]
    assert set(schema["properties"]) == {"username", "password"}
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


def test_the_docs_page_loads_the_served_document(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


# --- Every documented status, produced for real ---------------------------------------------


def refresh_cookie(client) -> dict[str, str]:
    return {"Cookie": login(client).headers["set-cookie"].split(";")[0]}


def throttled(client):
    for _ in range(settings.login_failures_per_user):
        login(client, "alice", "wrong")
    return login(client)


def while_every_hashing_thread_is_taken(client):
    saved = security.password_checks.limit
    security.password_checks.limit = 0
    try:
        return login(client)
    finally:
        security.password_checks.limit = saved


CROSS_SITE = {"Origin": "https://evil.example"}
TOO_LARGE = {"username": "alice", "password": "p" * settings.max_body_bytes}

# One request for each (method, path, status) the document lists, that really gets that status.
PROBES = {
    ("post", "/auth/token", 200): lambda client: login(client),
    ("post", "/auth/token", 401): lambda client: login(client, "alice", "wrong"),
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
    ("get", "/users/me", 200): lambda client: client.get("/users/me", headers=bearer(make_token())),
    ("get", "/users/me", 401): lambda client: client.get("/users/me"),
    ("get", "/items", 200): lambda client: client.get("/items", headers=bearer(make_token())),
    ("get", "/items", 401): lambda client: client.get("/items", headers=bearer(make_token(exp=1_000_000_000))),
    ("get", "/health", 200): lambda client: client.get("/health"),
    ("get", "/health/ready", 200): lambda client: client.get("/health/ready"),
}
# 503 (the database is down) is documented on every route that reads it, with a SQL database
# only: its tests (test_database.py) stop the database and produce it on each of those routes.
# Login's 503 (too many password checks waiting) has its probe above.
DATABASE_DOWN = 503


@pytest.mark.parametrize(("method", "path", "status"), list(PROBES))
def test_documented_status_is_real_and_shaped_as_documented(client, spec, method, path, status):
    response = PROBES[method, path, status](client)
    assert response.status_code == status, response.text
    assert_documented(spec, method, path, response)


def test_every_documented_status_has_a_probe(spec):
    """A status the document lists that nothing produces, or one it misses, fails here.
    (/openapi.json and /docs are not in the document; if they were, they would need probes.)"""
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
]


@pytest.mark.parametrize(("method", "path", "request_kwargs"), ODD_REQUESTS)
def test_odd_requests_get_documented_answers(client, spec, method, path, request_kwargs):
    response = getattr(client, method)(path, **request_kwargs)
    assert_documented(spec, method, path, response)
