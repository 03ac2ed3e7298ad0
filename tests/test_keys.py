"""Signing keys over HTTP on the served default bake: tokens name their key (`kid`), the JWKS
publishes the public keys and PyJWT (another JOSE library, as another service would use it)
verifies tokens with them; keys are added, switched and retired with the `keys` commands and a
restart; HMAC secrets rotate through PREVIOUS_SECRET_KEYS; headers that name a key the service
does not hold, or bring their own, are refused; the RFC 8414 metadata is complete and its URLs work."""

import base64
import json
import secrets
from pathlib import Path

import httpx
import jwt
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .conftest import free_port, run, serve, uvicorn_command
from .test_sql_service import Service as SqlService
from .test_sql_service import login as sql_login

PACKAGE = "my_service"


class Service:
    """The default bake, with its own signing-keys folder and settings for one test."""

    def __init__(self, project: Path, python: Path, keys_dir: Path, **env: str) -> None:
        self.project = project
        self.python = python
        self.env = {"SIGNING_KEYS_DIR": str(keys_dir), **env}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def keys(self, *args: str, check: bool = True):
        return run([self.python, "-m", PACKAGE, "keys", *args], cwd=self.project, env=self.env, check=check)

    def serve(self):
        return serve(uvicorn_command(self.python, PACKAGE, self.port), self.project, self.port, env=self.env)


@pytest.fixture
def service(default_project, service_python, tmp_path):
    return lambda **env: Service(default_project, service_python, tmp_path / "keys", **env)


def login(url: str) -> httpx.Response:
    response = httpx.post(f"{url}/auth/token", data={"username": "alice", "password": "secret"})
    assert response.status_code == 200, response.text
    return response


def me(url: str, token: str) -> int:
    return httpx.get(f"{url}/users/me", headers={"Authorization": f"Bearer {token}"}).status_code


def refresh(url: str, cookie: str) -> httpx.Response:
    return httpx.post(f"{url}/auth/refresh", headers={"Cookie": f"refresh_token={cookie}"})


def verified_elsewhere(url: str, token: str, client: jwt.PyJWKClient | None = None) -> dict:
    """What another service does (the generated README's example): PyJWT and the JWKS."""
    client = client or jwt.PyJWKClient(f"{url}/.well-known/jwks.json")
    key = client.get_signing_key_from_jwt(token)
    return jwt.decode(token, key, algorithms=["ES256", "RS256"], options={"require": ["exp", "sub"]})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def with_header(token: str, header: dict, private_key) -> str:
    """The token's claims under another header, signed with `private_key` (PEM text or secret)."""
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    algorithm = header.pop("alg")
    return jwt.encode(claims, private_key, algorithm=algorithm, headers=header)


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_a_token_names_its_key_and_the_jwks_verifies_it(service, algorithm):
    signing = service(JWT_ALGORITHM=algorithm)
    kid = signing.keys("new").stdout.splitlines()[0]
    keys_dir = Path(signing.env["SIGNING_KEYS_DIR"])
    assert keys_dir.stat().st_mode & 0o777 == 0o700
    assert (keys_dir / f"{kid}.pem").stat().st_mode & 0o777 == 0o600
    with signing.serve():
        token = login(signing.url).json()["access_token"]
        assert jwt.get_unverified_header(token) == {"alg": algorithm, "kid": kid, "typ": "JWT"}
        jwks = httpx.get(f"{signing.url}/.well-known/jwks.json")
        assert jwks.headers["cache-control"].startswith("public, max-age=")
        [published] = jwks.json()["keys"]
        assert (published["kid"], published["alg"], published["use"]) == (kid, algorithm, "sig")
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(published)  # nothing private
        assert verified_elsewhere(signing.url, token)["type"] == "access"
        assert me(signing.url, token) == 200


def test_hmac_tokens_name_their_key_and_publish_nothing(service):
    hmac = service()
    with hmac.serve():
        token = login(hmac.url).json()["access_token"]
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "HS256"
        assert len(header["kid"]) >= 16  # derived from the secret, which it does not reveal
        assert httpx.get(f"{hmac.url}/.well-known/jwks.json").json() == {"keys": []}


def test_a_new_key_signs_after_a_restart_old_tokens_live_until_their_key_is_retired(service):
    es = service(JWT_ALGORITHM="ES256")
    first = es.keys("new").stdout.splitlines()[0]
    with es.serve():
        old = login(es.url)
        old_token, old_cookie = old.json()["access_token"], old.cookies["refresh_token"]
        # Another service, running throughout. PyJWKClient refetches for an unknown kid at most
        # every 30 s by default: this test restarts faster than that.
        verifier = jwt.PyJWKClient(f"{es.url}/.well-known/jwks.json", cooldown_duration=0)
        verified_elsewhere(es.url, old_token, verifier)

    # Several replicas: add the key everywhere while the old one still signs (SIGNING_KEY_ID)...
    es.env["SIGNING_KEY_ID"] = first
    second = es.keys("new").stdout.splitlines()[0]
    with es.serve():  # a worker picks up a new key on restart
        assert me(es.url, old_token) == 200
        assert jwt.get_unverified_header(login(es.url).json()["access_token"])["kid"] == first
        kids = {key["kid"] for key in httpx.get(f"{es.url}/.well-known/jwks.json").json()["keys"]}
        assert kids == {first, second}
    # ... then switch signing to it (here: unpin, so the newest key signs).
    del es.env["SIGNING_KEY_ID"]
    with es.serve():
        assert me(es.url, old_token) == 200
        new_token = login(es.url).json()["access_token"]
        assert jwt.get_unverified_header(new_token)["kid"] == second
        assert verified_elsewhere(es.url, new_token, verifier)["sub"]  # it fetched the JWKS again for the new kid

    listed = es.keys("list").stdout.splitlines()
    assert [line.split()[0] for line in listed[1:3]] == [second, first]
    assert "signs access tokens" in listed[1] and "verifies access tokens" in listed[2]
    assert "signs refresh tokens (SECRET_KEY)" in listed[3]

    refused = es.keys("retire", second, check=False)
    assert (refused.returncode, refused.stderr.startswith("error: that key signs")) == (1, True)
    retired = es.keys("retire", first)
    assert "warning: access tokens it signed may still be alive" in retired.stdout
    assert es.keys("retire", "../keys/" + second, check=False).returncode == 1  # a kid is never a path
    with es.serve():
        assert me(es.url, old_token) == 401
        assert me(es.url, new_token) == 200
        # Refresh tokens are HMAC-signed (only this service reads them), whatever signs access tokens.
        assert jwt.get_unverified_header(old_cookie)["alg"] == "HS256"
        renewed = refresh(es.url, login(es.url).cookies["refresh_token"])
        assert renewed.status_code == 200
        assert me(es.url, renewed.json()["access_token"]) == 200


@pytest.fixture
def sql_service(backend, sql_projects, sql_python, database_url):
    """A migrated SQL bake (SQLite, PostgreSQL): sessions outlive a restart there."""
    sql = SqlService(backend, sql_projects[backend], sql_python, database_url)
    sql.command("migrate")
    sql.create_alice()
    return sql


def test_a_secret_rotated_through_previous_secret_keys_logs_nobody_out_until_dropped(sql_service, tmp_path):
    old_secret, new_secret = secrets.token_urlsafe(64), secrets.token_urlsafe(64)
    port = free_port()
    with sql_service.serve(port, SECRET_KEY=old_secret) as url:
        issued = sql_login(url)
        token, cookie = issued.json()["access_token"], issued.cookies["refresh_token"]
        spare_cookie = sql_login(url).cookies["refresh_token"]  # another login, never refreshed

    with sql_service.serve(port, SECRET_KEY=new_secret, PREVIOUS_SECRET_KEYS=old_secret) as url:
        assert me(url, token) == 200
        renewed = refresh(url, cookie)
        assert renewed.status_code == 200
        new_kid = jwt.get_unverified_header(renewed.json()["access_token"])["kid"]
        assert new_kid != jwt.get_unverified_header(token)["kid"]
        fresh_cookie = renewed.cookies["refresh_token"]  # signed with the new secret

    with sql_service.serve(port, SECRET_KEY=new_secret) as url:
        assert me(url, token) == 401
        assert refresh(url, spare_cookie).status_code == 401  # the old secret no longer verifies
        assert refresh(url, fresh_cookie).status_code == 200

    # The keys commands touch files only: they work the same on every database answer.
    sql_service.env.update(JWT_ALGORITHM="ES256", SIGNING_KEYS_DIR=str(tmp_path / "keys"))
    kid = sql_service.command("keys", "new").stdout.splitlines()[0]
    assert kid in sql_service.command("keys", "list").stdout
    with sql_service.serve(port) as url:
        assert jwt.get_unverified_header(sql_login(url).json()["access_token"])["kid"] == kid


@pytest.mark.parametrize("algorithm", ["HS256", "ES256"])
def test_headers_that_name_a_missing_key_or_bring_their_own_are_refused(service, algorithm):
    """Each forged token is signed with the service's own key, so only its header can refuse it."""
    secret = secrets.token_urlsafe(64)
    tested = service(JWT_ALGORITHM=algorithm, SECRET_KEY=secret)
    if algorithm == "ES256":
        kid = tested.keys("new").stdout.splitlines()[0]
        signing_key = (Path(tested.env["SIGNING_KEYS_DIR"]) / f"{kid}.pem").read_text()
    else:
        signing_key = secret
    attacker = ec.generate_private_key(ec.SECP256R1())
    attacker_pem = attacker.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    attacker_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(attacker.public_key()))
    with tested.serve():
        token = login(tested.url).json()["access_token"]
        kid = jwt.get_unverified_header(token)["kid"]
        assert me(tested.url, with_header(token, {"alg": algorithm, "kid": kid}, signing_key)) == 200  # control
        forged = {
            "unknown kid": with_header(token, {"alg": algorithm, "kid": "another-key"}, signing_key),
            "no kid": with_header(token, {"alg": algorithm}, signing_key),
            "../ kid": with_header(token, {"alg": algorithm, "kid": f"../keys/{kid}"}, signing_key),
            "path kid": with_header(token, {"alg": algorithm, "kid": f"{kid}.pem"}, signing_key),
            "embedded jwk": with_header(token, {"alg": algorithm, "kid": kid, "jwk": attacker_jwk}, signing_key),
            "jku": with_header(token, {"alg": algorithm, "kid": kid, "jku": f"{tested.url}/x"}, signing_key),
            "x5u": with_header(token, {"alg": algorithm, "kid": kid, "x5u": f"{tested.url}/x"}, signing_key),
            "attacker's own jwk": with_header(token, {"alg": "ES256", "jwk": attacker_jwk}, attacker_pem),
        }
        answers = {name: me(tested.url, forged_token) for name, forged_token in forged.items()}
        assert answers == dict.fromkeys(forged, 401)


def test_the_authorization_server_metadata_is_complete_and_its_urls_work(service, monkeypatch):
    es = service(JWT_ALGORITHM="ES256")
    es.env["TOKEN_ISSUER"] = es.url
    es.keys("new")
    with es.serve():
        answer = httpx.get(f"{es.url}/.well-known/oauth-authorization-server")
        assert answer.headers["cache-control"].startswith("public, max-age=")
        document = answer.json()
        monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on 127.0.0.1 in this test
        metadata = AuthorizationServerMetadata(document)
        # Every check of RFC 8414 2 that authlib makes; response_types_supported is required, but
        # authlib also wants it non-empty, and without an authorization endpoint no
        # response_type exists: the honest answer is an empty array.
        for name in dir(metadata):
            if name.startswith("validate_") and name != "validate_response_types_supported":
                getattr(metadata, name)()
        assert document["response_types_supported"] == []
        assert document["issuer"] == es.url
        assert document["grant_types_supported"] == ["password"]
        assert document["scopes_supported"] == ["me", "items", "admin"]
        assert document["token_endpoint_auth_methods_supported"] == ["none"]

        token = httpx.post(document["token_endpoint"], data={"username": "alice", "password": "secret"}).json()
        claims = verified_elsewhere(es.url, token["access_token"], jwt.PyJWKClient(document["jwks_uri"]))
        assert claims["iss"] == document["issuer"]
