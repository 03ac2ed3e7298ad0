"""Hostile input: each request below is refused with a 4xx (never a 500, never a traceback),
and the service still works right after it (a normal login, /users/me and a refresh succeed).
"""

import asyncio
import base64
import hashlib
import hmac
import json
import time

import msgspec
import pytest
import uvicorn

from {{ cookiecutter.package_name }}.__main__ import main
from {{ cookiecutter.package_name }}.hashing import hash_password, verify_password
from {{ cookiecutter.package_name }}.keys import hmac_kid
from {{ cookiecutter.package_name }}.main import app
from {{ cookiecutter.package_name }}.models import UserInDB
from {{ cookiecutter.package_name }}.settings import settings
from {{ cookiecutter.package_name }}.user_store import user_store

from .conftest import admin_token, bearer, login, make_token, quick_hash, signup_allowed

CREDENTIALS_ERROR = {"detail": "Could not validate credentials"}
NOT_AUTHENTICATED = {"detail": "Not authenticated"}
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=x"
ANOTHER_KEY = "not-the-service-key-" + "k" * 44


@pytest.fixture(autouse=True)
def quick_alice(put_user):
    """Alice with a cheap hash of the same password: this module logs in after every hostile
    request, and a cost-12 bcrypt check takes a quarter of a second or more."""
    alice = asyncio.run(user_store.get("alice"))
    put_user(msgspec.structs.replace(alice, hashed_password=quick_hash("secret")))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


KID_HEADER = json.dumps({"alg": "HS256", "kid": hmac_kid(settings.secret_key), "typ": "JWT"}).encode()


def sign(payload: bytes, header: bytes = KID_HEADER, key: str = settings.secret_key) -> str:
    """An HS256 token over any raw header and payload bytes, signed with the service's key
    (its header names that key, as the service's own tokens do)."""
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def claims_with(**raw_values: str) -> bytes:
    """Valid access-token claims as JSON text, some values replaced by raw JSON (e.g. exp="1e400")."""
    claims = {name: json.dumps(value) for name, value in jwt_claims(make_token()).items()}
    claims.update(raw_values)
    return ("{" + ",".join(f"{json.dumps(name)}:{value}" for name, value in claims.items()) + "}").encode()


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def assert_refused(response, status: int | None = None) -> None:
    if status is None:
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
    else:
        assert response.status_code == status, (response.status_code, response.text)
    assert "Traceback" not in response.text
    assert 'File "' not in response.text


def assert_service_still_works(client) -> None:
    response = login(client)
    assert response.status_code == 200, response.text
    me = client.get("/users/me", headers=bearer(response.json()["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "alice"
    cookie = response.headers["set-cookie"].split(";")[0]
    assert client.post("/auth/refresh", headers={"Cookie": cookie}).status_code == 200


# --- Authorization headers -------------------------------------------------------------------

VALID = make_token()
HEADER, PAYLOAD, SIGNATURE = VALID.split(".")
NONE_HEADER = b64url(b'{"alg":"none","typ":"JWT"}')
MALLORY_PAYLOAD = b64url(json.dumps({**jwt_claims(VALID), "sub": "mallory"}).encode())
flipped = SIGNATURE[:10] + ("A" if SIGNATURE[10] != "A" else "B") + SIGNATURE[11:]

AUTHORIZATION_HEADERS = [
    # forged
    pytest.param(f"Bearer {NONE_HEADER}.{PAYLOAD}.", id="alg-none-unsigned"),
    pytest.param(f"Bearer {NONE_HEADER}.{PAYLOAD}.{SIGNATURE}", id="alg-none-with-a-signature"),
    pytest.param(f"Bearer {make_token(algorithm='HS512')}", id="HS512-same-key"),
    pytest.param(f"Bearer {make_token(algorithm='HS384')}", id="HS384-same-key"),
    pytest.param(f"Bearer {make_token(key=ANOTHER_KEY)}", id="wrong-key"),
    pytest.param(f"Bearer {HEADER}.{PAYLOAD}.{flipped}", id="signature-altered"),
    pytest.param(f"Bearer {HEADER}.{MALLORY_PAYLOAD}.{SIGNATURE}", id="payload-swapped"),
    pytest.param(f"Bearer {sign(b'{}', header=b'[1, 2]')}", id="header-is-a-list"),
    pytest.param(f"Bearer {sign(claims_with(), header=b'{}')}", id="header-without-alg"),
    # expired, wrong kind, unknown subject
    pytest.param(f"Bearer {make_token(exp=1_000_000_000)}", id="expired-long-ago"),
    pytest.param(f"Bearer {make_token(iat=1_000_000_000, exp=1_000_000_001)}", id="expired-short-lived"),
    pytest.param(f"Bearer {make_token(type='refresh', fam='family')}", id="refresh-token"),
    pytest.param(f"Bearer {make_token(type='ACCESS')}", id="type-upper-case"),
    pytest.param(f"Bearer {make_token(sub='mallory')}", id="unknown-user"),
    pytest.param(f"Bearer {make_token(sub='')}", id="empty-sub"),
    # truncated
    pytest.param(f"Bearer {VALID[:-1]}", id="truncated-by-one"),
    pytest.param(f"Bearer {HEADER}.{PAYLOAD}", id="no-signature-segment"),
    pytest.param(f"Bearer {HEADER}.{PAYLOAD}.", id="empty-signature"),
    pytest.param(f"Bearer {HEADER}", id="header-only"),
    pytest.param(f"Bearer {VALID[: len(VALID) // 2]}", id="half-a-token"),
    # oversized (still under MAX_HEADER_BYTES: the request limits tests have bigger ones)
    pytest.param("Bearer " + "a" * 10_000, id="10KB"),
    pytest.param(f"Bearer {make_token(padding='x' * 10_000)}", id="10KB-signed-with-the-real-key"),
    pytest.param("Bearer " + ".".join(["a" * 2000] * 6), id="many-long-segments"),
    # non-ASCII and binary
    pytest.param(b"Bearer \xff\xfe\xfd", id="latin-1-bytes"),
    pytest.param(b"Bearer \xe9." + PAYLOAD.encode() + b"." + SIGNATURE.encode(), id="latin-1-in-a-token"),
    pytest.param("Bearer t\u00f6k\u00e9n".encode(), id="utf-8-bytes"),
    pytest.param(b"Bearer a\x01b.c\x7fd.e", id="control-characters"),
    pytest.param(b"\xff\xfe " + VALID.encode(), id="binary-scheme"),
    # garbage base64
    pytest.param("Bearer !!!.@@@.###", id="not-base64"),
    pytest.param("Bearer ====.====.====", id="only-padding"),
    pytest.param("Bearer ..", id="empty-segments"),
    pytest.param("Bearer a.b.c.d.e", id="five-segments"),
    pytest.param(f"Bearer {b64url(b'{')}.{PAYLOAD}.{SIGNATURE}", id="header-not-json"),
    # validly signed payloads that are not a claims object
    pytest.param(f"Bearer {sign(b'[1, 2, 3]')}", id="payload-is-a-list"),
    pytest.param(f"Bearer {sign(b'42')}", id="payload-is-a-number"),
    pytest.param("Bearer " + sign(b'"alice"'), id="payload-is-a-string"),
    pytest.param(f"Bearer {sign(b'{not json')}", id="payload-not-json"),
    pytest.param("Bearer " + sign(b"\xff\xfe{}"), id="payload-not-utf-8"),
    # claims of the wrong type
    pytest.param(f"Bearer {make_token(sub=42)}", id="sub-is-a-number"),
    pytest.param(f"Bearer {make_token(sub=['alice'])}", id="sub-is-a-list"),
    pytest.param(f"Bearer {make_token(jti=42)}", id="jti-is-a-number"),
    pytest.param(f"Bearer {make_token(type=1)}", id="type-is-a-number"),
    pytest.param(f"Bearer {make_token(exp='tomorrow')}", id="exp-is-a-word"),
    pytest.param(f"Bearer {make_token(exp=[9_999_999_999])}", id="exp-is-a-list"),
    pytest.param(f"Bearer {sign(claims_with(exp='null'))}", id="exp-is-null"),
    pytest.param(f"Bearer {sign(claims_with(exp='1e400'))}", id="exp-is-infinite"),
    pytest.param(f"Bearer {make_token(iat={})}", id="iat-is-an-object"),
    pytest.param(f"Bearer {make_token(nbf=[1])}", id="nbf-is-a-list"),
    # required claims missing (make_token drops a claim set to None)
    pytest.param(f"Bearer {make_token(exp=None)}", id="no-exp"),
    pytest.param(f"Bearer {make_token(iat=None)}", id="no-iat"),
    pytest.param(f"Bearer {make_token(sub=None)}", id="no-sub"),
    pytest.param(f"Bearer {make_token(jti=None)}", id="no-jti"),
    pytest.param(f"Bearer {make_token(type=None)}", id="no-type"),
    # wrong scheme: no bearer token at all
    pytest.param(f"Basic {VALID}", id="basic-scheme"),
    pytest.param(VALID, id="no-scheme"),
    pytest.param(f"Bearer: {VALID}", id="scheme-with-colon"),
]


NO_BEARER_TOKEN = {"binary-scheme", "basic-scheme", "no-scheme", "scheme-with-colon"}


@pytest.mark.parametrize("authorization", AUTHORIZATION_HEADERS)
def test_hostile_authorization_header(client, request, authorization):
    """RFC 6750 3.1: no bearer token gets a bare challenge, any bad one `invalid_token`."""
    response = client.get("/users/me", headers={"Authorization": authorization})
    assert_refused(response, 401)
    if request.node.callspec.id in NO_BEARER_TOKEN:
        assert response.json() == NOT_AUTHENTICATED
        assert response.headers["www-authenticate"] == "Bearer"
    else:
        assert response.json() == CREDENTIALS_ERROR
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert_service_still_works(client)


# --- Refresh cookies -------------------------------------------------------------------------

REFRESH = {"type": "refresh", "fam": "some-family"}

REFRESH_COOKIES = [
    pytest.param(b"refresh_token=garbage", id="garbage"),
    pytest.param(b"refresh_token=a.b.c", id="three-garbage-segments"),
    pytest.param(f"refresh_token={make_token(key=ANOTHER_KEY, **REFRESH)}".encode(), id="wrong-key"),
    pytest.param(f"refresh_token={make_token(algorithm='HS512', **REFRESH)}".encode(), id="HS512-same-key"),
    pytest.param(f"refresh_token={NONE_HEADER}.{b64url(json.dumps(REFRESH).encode())}.".encode(), id="alg-none"),
    pytest.param(f"refresh_token={make_token(exp=1_000_000_000, **REFRESH)}".encode(), id="expired"),
    pytest.param(f"refresh_token={make_token()}".encode(), id="access-token"),
    pytest.param(f"refresh_token={make_token(type='refresh')}".encode(), id="refresh-without-family"),
    pytest.param(f"refresh_token={make_token(type='refresh', fam=['x'])}".encode(), id="family-is-a-list"),
    pytest.param(f"refresh_token={make_token(**REFRESH)}".encode(), id="never-issued"),
    pytest.param(f"refresh_token={make_token(sub='mallory', **REFRESH)}".encode(), id="unknown-user"),
    pytest.param(f"refresh_token={make_token(exp=[1], **REFRESH)}".encode(), id="exp-is-a-list"),
    pytest.param(b"refresh_token=" + b"a" * 10_000, id="10KB"),
    pytest.param(b"refresh_token=" + VALID.encode()[:-1], id="truncated"),
    pytest.param(b'refresh_token="quoted"', id="quoted"),
    pytest.param(b'refresh_token="unterminated', id="unterminated-quote"),
    pytest.param(b'refresh_token="\\777\\x"', id="odd-escapes"),
    pytest.param(b"refresh_token", id="no-equals-sign"),
    pytest.param(b"refresh_token=", id="empty-value"),
    pytest.param(b";;;;", id="only-semicolons"),
    pytest.param(b"=value", id="no-name"),
    pytest.param(b"refresh_token=a; refresh_token=b", id="twice"),
    pytest.param(b"expires=1; refresh_token=abc", id="attribute-first"),
    pytest.param(b"$Version=1; refresh_token=abc", id="version-attribute"),
    pytest.param(b"refresh_token=\xff\xfe", id="latin-1-bytes"),
    pytest.param(b"\xff=1; refresh_token=abc", id="latin-1-name"),
    pytest.param(b"refresh_token=a\x01b", id="control-character"),
]


@pytest.mark.parametrize("cookie", REFRESH_COOKIES)
def test_hostile_refresh_cookie(client, cookie):
    response = client.post("/auth/refresh", headers={"Cookie": cookie})
    assert_refused(response, 401)
    assert set(response.json()) == {"detail"}
    logout = client.post("/auth/logout", headers={"Cookie": cookie})
    assert logout.status_code == 204  # logout always succeeds, whatever the cookie
    assert_service_still_works(client)


@pytest.mark.parametrize(
    "neighbour",
    ["theme=dark", "name=John Doe", "flag", 'prefs={"a": 1}', "empty=", "tz=Europe/Berlin; lang=de"],
)
def test_refresh_cookie_is_found_among_other_cookies_of_the_site(client, neighbour):
    """A browser sends every cookie of the site, in any syntax other apps chose, with ours."""
    ours = login(client).headers["set-cookie"].split(";")[0]
    for ours_first in (True, False):
        cookie = f"{ours}; {neighbour}" if ours_first else f"{neighbour}; {ours}"
        response = client.post("/auth/refresh", headers={"Cookie": cookie})
        assert response.status_code == 200, (cookie, response.text)
        ours = response.headers["set-cookie"].split(";")[0]


# --- Login forms ---------------------------------------------------------------------------


def raw(body: bytes, content_type: str | None = FORM) -> dict:
    """Arguments for client.post that send this body exactly as given."""
    return {"content": body, "headers": {"Content-Type": content_type} if content_type else {}}


def multipart(*parts: bytes, boundary: str = "boundary=x") -> dict:
    """A multipart/form-data body with boundary "x", sent with any boundary parameter."""
    body = b"".join(b"--x\r\n" + part + b"\r\n" for part in parts) + b"--x--\r\n"
    return raw(body, f"multipart/form-data; {boundary}".strip("; "))


def field(name: bytes, value: bytes) -> bytes:
    return b'Content-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value


ALICE = b"username=alice&password=secret"
ALICE_PARTS = (field(b"username", b"alice"), field(b"password", b"secret"))

# (arguments for client.post, the status expected; None: any 4xx)
LOGIN_FORMS = [
    # missing, empty
    pytest.param({}, 422, id="no-body"),
    pytest.param({"data": {"password": "secret"}}, 422, id="no-username"),
    pytest.param({"data": {"username": "alice"}}, 422, id="no-password"),
    pytest.param({"data": {"username": "", "password": ""}}, 422, id="both-empty"),
    pytest.param(raw(b"username&password"), 422, id="names-without-values"),
    # oversized fields (the body itself is under MAX_BODY_BYTES)
    pytest.param({"data": {"username": "a" * 10_000, "password": "secret"}}, 422, id="10KB-username"),
    pytest.param({"data": {"username": "alice", "password": "p" * 10_000}}, 422, id="10KB-password"),
    # binary and non-UTF-8
    pytest.param(raw(b"username=alice&password=\xff\xfe\x80"), None, id="raw-binary"),
    pytest.param(raw(b"username=%FF%FE&password=%80"), None, id="escaped-binary"),
    pytest.param(raw(b"username=%zz&password=%"), None, id="broken-escapes"),
    pytest.param(multipart(field(b"username", b"al\xffice"), ALICE_PARTS[1]), 422, id="multipart-non-utf-8-value"),
    pytest.param(multipart(field(b"\xff", b"alice"), ALICE_PARTS[1]), 422, id="multipart-non-utf-8-name"),
    # NUL bytes
    pytest.param({"data": {"username": "ali\x00ce", "password": "secret"}}, 401, id="nul-in-username"),
    pytest.param({"data": {"username": "alice", "password": "sec\x00ret"}}, 401, id="nul-in-password"),
    pytest.param(raw(b"username=alice\x00&password=secret"), 401, id="raw-nul"),
    # repeated fields, files
    pytest.param(raw(b"username=alice&username=bob&password=secret"), 422, id="username-twice"),
    pytest.param(raw(ALICE + b"&password=secret"), 422, id="password-twice-same-value"),
    pytest.param({"files": {"username": ("u.txt", b"alice")}, "data": {"password": "x"}}, 422, id="file-as-username"),
    pytest.param({"files": {"password": ("p.bin", b"secret")}, "data": {"username": "x"}}, 422, id="file-as-password"),
    # not a form
    pytest.param({"json": {"username": "alice", "password": "secret"}}, None, id="json-object"),
    pytest.param(raw(ALICE, "application/json"), None, id="form-labelled-json"),
    pytest.param(raw(ALICE, "text/plain"), None, id="form-labelled-text"),
    pytest.param(raw(ALICE, None), None, id="form-without-content-type"),
    # broken multipart
    pytest.param(multipart(*ALICE_PARTS, boundary=""), 422, id="multipart-no-boundary"),
    pytest.param(multipart(*ALICE_PARTS, boundary="boundary=y"), 422, id="multipart-wrong-boundary"),
    pytest.param(multipart(*ALICE_PARTS, boundary="boundary=" + "x" * 100), 422, id="multipart-long-boundary"),
    pytest.param(raw(b"--x\r\n" + ALICE_PARTS[0][:-3], MULTIPART), 422, id="multipart-cut-short"),
    pytest.param(raw(b"\x00\x01\x02 garbage", MULTIPART), 422, id="multipart-garbage"),
    pytest.param(multipart(b"NoColonHeader\r\n\r\nalice"), 422, id="multipart-bad-part-header"),
]


@pytest.mark.parametrize(("request_kwargs", "status"), LOGIN_FORMS)
def test_hostile_login_form(client, request_kwargs, status):
    response = client.post("/auth/token", **request_kwargs)
    assert_refused(response, status)
    assert "set-cookie" not in response.headers
    assert_service_still_works(client)


def test_body_over_max_body_bytes_is_refused_with_413(client):
    response = client.post("/auth/token", data={"username": "alice", "password": "p" * settings.max_body_bytes})
    assert_refused(response, 413)
    assert response.json() == {"detail": "Request body too large"}
    assert_service_still_works(client)


def test_chunked_body_over_max_body_bytes_is_refused_with_413(client):
    async def chunks():
        yield b"username=alice&password="
        for _ in range(settings.max_body_bytes // 1024 + 1):
            yield b"p" * 1024

    response = client.post("/auth/token", content=chunks(), headers={"Content-Type": FORM})
    assert "content-length" not in response.request.headers  # really sent without a length
    assert_refused(response, 413)
    assert_service_still_works(client)


def test_body_of_exactly_max_body_bytes_is_read(client):
    prefix = b"username=alice&password="
    body = prefix + b"p" * (settings.max_body_bytes - len(prefix))
    response = client.post("/auth/token", **raw(body))
    assert response.status_code == 422  # read and judged: the password is too long, not the body
    assert "password" in response.json()["detail"][0]["msg"]


# --- Request limits: header sizes, JSON bodies, query parameters (request_limits.py) ---------


def padded(client, count: int, **headers: str) -> dict[str, str]:
    """`headers` and fillers, so that a GET of the client sends `count` headers in all."""
    sent = len(client._client.build_request("GET", "/users/me", headers=headers).headers)
    return {**headers, **{f"x-filler-{n}": "1" for n in range(count - sent)}}


def filled(client, size: int, **headers: str) -> dict[str, str]:
    """`headers` and one filler, so that the names and values a GET sends are `size` bytes in all."""
    sent = client._client.build_request("GET", "/users/me", headers={**headers, "x-filler": ""}).headers.raw
    return {**headers, "x-filler": "f" * (size - sum(len(name) + len(value) for name, value in sent))}


OVERSIZED_HEADERS = [
    pytest.param({"Authorization": "Bearer " + "a" * 100_000}, id="100KB-authorization"),
    pytest.param({"Authorization": "Bearer " + ".".join(["a" * 2000] * 50)}, id="many-long-segments"),
    pytest.param({"Cookie": "refresh_token=" + "a" * 100_000}, id="100KB-cookie"),
    pytest.param({"X-Anything": "x" * 8 * 1024 * 1024}, id="8MB-header"),
    pytest.param({f"X-Filler-{n}": "x" * 200 for n in range(90)}, id="90-headers-of-200-bytes"),
]


@pytest.mark.parametrize("headers", OVERSIZED_HEADERS)
def test_headers_over_max_header_bytes_get_431(client, token, headers):
    for response in (
        client.get("/users/me", headers={**bearer(token), **headers}),
        client.post("/auth/token", data={"username": "alice", "password": "secret"}, headers=headers),
    ):
        assert_refused(response, 431)
        assert response.json() == {"detail": f"Request headers larger than {settings.max_header_bytes} bytes in all"}
        assert "set-cookie" not in response.headers
    assert_service_still_works(client)


def test_headers_of_exactly_max_header_bytes_are_served(client, token):
    headers = filled(client, settings.max_header_bytes, **bearer(token))
    assert client.get("/users/me", headers=headers).status_code == 200
    headers = filled(client, settings.max_header_bytes + 1, **bearer(token))
    assert_refused(client.get("/users/me", headers=headers), 431)


@pytest.mark.parametrize("count", [101, 1000])
def test_more_than_max_headers_get_431(client, token, count):
    headers = padded(client, count, **bearer(token))
    response = client.get("/users/me", headers=headers)
    assert_refused(response, 431)
    assert response.json() == {"detail": f"More than {settings.max_headers} request headers"}
    assert_service_still_works(client)


def test_exactly_max_headers_are_served(client, token):
    assert client.get("/users/me", headers=padded(client, settings.max_headers, **bearer(token))).status_code == 200


def test_python_m_also_bounds_the_head_uvicorns_h11_parser_buffers(monkeypatch):
    """A second line of defence, for when uvicorn parses with h11 (httptools has no such option)."""
    options = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **given: options.update(given))
    main([])
    config = uvicorn.Config(app, **options)
    assert settings.max_header_bytes < config.h11_max_incomplete_event_size <= 2 * settings.max_header_bytes


STRONG = "a password nobody has ever used"


def json_routes(token: str) -> list:
    """(method, path, headers, a body the route would accept): today's JSON routes."""
    return [
        ("post", "/auth/register", {}, {"username": f"eve{time.monotonic_ns()}", "password": STRONG}),
        ("post", "/users", admin_token(), {"username": f"eve{time.monotonic_ns()}", "password": STRONG}),
        ("patch", "/users/alice", admin_token(), {"scopes": ["me", "items"]}),
        ("post", "/users/me/password", bearer(token), {"current_password": "secret", "new_password": STRONG}),
    ]


NOT_JSON = [
    "text/plain",  # what a form or fetch() of another site may send without a preflight
    "text/plain; charset=utf-8",
    FORM,
    MULTIPART,
    None,
    "text/json",
    "application/jsonx",
    "application/json-patch",
    "",
    "; charset=utf-8",
]


@pytest.mark.parametrize("content_type", NOT_JSON)
def test_a_json_route_refuses_a_body_of_another_type_with_415(client, token, content_type):
    """The body is valid JSON each route would act on: none of them may read it."""
    with signup_allowed():
        for method, path, headers, body in json_routes(token):
            typed = {} if content_type is None else {"Content-Type": content_type}
            response = getattr(client, method)(path, content=json.dumps(body), headers={**headers, **typed})
            assert_refused(response, 415)
            assert response.json() == {"detail": "Send the request body as JSON, with Content-Type: application/json"}
            if path in ("/auth/register", "/users"):
                assert asyncio.run(user_store.get(body["username"])) is None
    assert_service_still_works(client)  # alice's password did not change


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/x+json"]
)
def test_a_json_route_reads_json_with_any_parameters(client, cheap_hashing, content_type):
    body = {"username": f"eve{time.monotonic_ns()}", "password": STRONG}
    with signup_allowed():
        response = client.post("/auth/register", **raw(json.dumps(body).encode(), content_type))
    assert response.status_code == 201, response.text


def test_a_request_without_a_body_needs_no_content_type(client):
    cookie = {"Cookie": login(client).headers["set-cookie"].split(";")[0]}
    for typed in ({}, {"Content-Type": "text/plain"}):  # an empty body: nothing to read as anything
        response = client.post("/auth/refresh", content=b"", headers={**cookie, **typed})
        cookie = {"Cookie": response.headers["set-cookie"].split(";")[0]}
        assert response.status_code == 200, response.text
    assert client.post("/auth/logout", headers=cookie).status_code == 204


def test_a_body_on_a_cookie_route_must_be_json_too(client):
    cookie = {"Cookie": login(client).headers["set-cookie"].split(";")[0]}
    for path in ("/auth/refresh", "/auth/logout", "/auth/logout-all"):
        assert_refused(client.post(path, content=b"x", headers={**cookie, "Content-Type": "text/plain"}), 415)


def test_the_login_form_keeps_its_own_check(client):
    response = client.post("/auth/token", **raw(ALICE, "text/plain"))
    assert_refused(response, 422)
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("offset=1&offset=2", "offset"),
        ("limit=5&limit=5", "limit"),
        ("offset=0&limit=1&limit=2", "limit"),
        ("offset=&offset=", "offset"),
        ("offset=", "offset"),
        ("offset=%ff", "offset"),
        ("offset=1%00", "offset"),
        ("limit=+5", "limit"),
        ("limit=%D9%A1", "limit"),  # an Arabic-Indic one
        ("limit=1e2", "limit"),
        ("offset", "offset"),
    ],
)
def test_a_repeated_or_malformed_query_parameter_is_422_naming_it(client, query, name):
    response = client.get(f"/users?{query}", headers=admin_token())
    assert_refused(response, 422)
    assert response.json()["detail"][0]["loc"] == ["query", name]


@pytest.mark.parametrize("query", ["offset[]=1", "Offset=1&Offset=2", "&&&", "=1"])
def test_query_parameters_the_route_does_not_know_are_ignored(client, query):
    assert client.get(f"/users?{query}", headers=admin_token()).status_code == 200


# --- Passwords -----------------------------------------------------------------------------

PASSWORDS = [
    pytest.param("p" * 73, id="73-bytes"),
    pytest.param("\u00e9" * 40, id="80-bytes-in-40-characters"),
    pytest.param("x" * 4096, id="4096-characters"),
    pytest.param("nul\x00inside", id="nul"),
    pytest.param("\x00", id="only-nul"),
    pytest.param("p\u00e4ssw\u00f6rd \u2713 \u5bc6\u7801", id="non-ascii"),
]


@pytest.mark.parametrize("password", PASSWORDS)
def test_any_password_hashes_and_verifies(password):
    hashed = hash_password(password)
    assert verify_password(password, hashed)
    assert not verify_password(password + "x", hashed)


def test_passwords_sharing_their_first_72_bytes_do_not_both_match():
    first, second = "a" * 72 + "first", "a" * 72 + "second"
    assert verify_password(first, hash_password(first))
    assert not verify_password(second, hash_password(first))
    # the same with multi-byte characters straddling byte 72
    first, second = "\u00e9" * 36 + "1", "\u00e9" * 36 + "2"
    assert not verify_password(second, hash_password(first))


@pytest.fixture
def bob(put_user):
    """Adds a user "bob" with the given password for one test."""
    return lambda password: put_user(UserInDB(username="bob", hashed_password=quick_hash(password), scopes=("me",)))


@pytest.mark.parametrize("password", PASSWORDS)
def test_any_password_logs_in_over_http(client, bob, password):
    bob(password)
    utf8 = password.encode()
    sent = {
        "form": {"data": {"username": "bob", "password": password}},
        "raw UTF-8 form (curl -d)": raw(b"username=bob&password=" + utf8),
        "multipart": {"files": {"username": (None, "bob"), "password": (None, utf8)}},
    }
    for how, request_kwargs in sent.items():
        response = client.post("/auth/token", **request_kwargs)
        assert response.status_code == 200, (how, response.text)
    assert login(client, "bob", "wrong" + password[5:]).status_code == 401
