"""Signing keys: tokens name their key, the rings verify by kid only, the JWKS and the RFC 8414
metadata, and the `keys` commands (files only: the same for every database)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from jose import jwk, jwt

from {{ cookiecutter.package_name }} import keys, tokens
from {{ cookiecutter.package_name }}.routers import well_known
from {{ cookiecutter.package_name }}.sessions import access_tokens

from .conftest import bearer, login

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def use_settings(monkeypatch):
    """Returns a function that makes the service sign and verify with settings changed as given."""

    def use(**changes) -> keys.KeyRings:
        changed = msgspec.structs.replace(tokens.settings, **changes)
        rings = keys.load(changed)
        monkeypatch.setattr(tokens, "key_rings", lambda: rings)
        access_tokens._claims.clear()
        return rings

    yield use
    access_tokens._claims.clear()


def test_an_hmac_token_names_its_secret_without_revealing_it(client):
    token = login(client).json()["access_token"]
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "kid": keys.hmac_kid(tokens.settings.secret_key), "typ": "JWT"}
    assert tokens.settings.secret_key[:8] not in header["kid"]
    answer = client.get("/.well-known/jwks.json")
    assert (answer.status_code, answer.json()) == (200, {"keys": []})
    assert answer.headers["cache-control"] == "public, max-age=300"


def test_previous_secrets_verify_but_never_sign(client, use_settings):
    old_token = login(client).json()["access_token"]
    new_secret = secrets.token_urlsafe(64)
    use_settings(secret_key=new_secret, previous_secret_keys=f" {tokens.settings.secret_key} ")
    assert client.get("/users/me", headers=bearer(old_token)).status_code == 200
    new_token = login(client).json()["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == keys.hmac_kid(new_secret)
    use_settings(secret_key=new_secret)
    assert client.get("/users/me", headers=bearer(old_token)).status_code == 401
    assert client.get("/users/me", headers=bearer(new_token)).status_code == 200


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_a_private_key_signs_access_tokens_the_jwks_verifies_them_refresh_tokens_stay_hmac(
    client, use_settings, tmp_path, algorithm
):
    path = keys.write_key_file(tmp_path, keys.new_private_key(algorithm), now=1_700_000_000)
    rings = use_settings(jwt_algorithm=algorithm, signing_keys_dir=str(tmp_path))
    assert path.name == f"{rings.access.signing.kid}.pem"
    issued = login(client)
    token = issued.json()["access_token"]
    assert jwt.get_unverified_header(token) == {"alg": algorithm, "kid": rings.access.signing.kid, "typ": "JWT"}
    [public] = client.get("/.well-known/jwks.json").json()["keys"]
    assert public["kid"] == rings.access.signing.kid
    assert jwt.decode(token, jwk.construct(public), algorithms=[algorithm])["type"] == "access"
    assert client.get("/users/me", headers=bearer(token)).status_code == 200
    refresh_header = jwt.get_unverified_header(issued.cookies["refresh_token"])
    assert refresh_header["alg"] == "HS256"
    cookie = {"Cookie": f"refresh_token={issued.cookies['refresh_token']}"}
    assert client.post("/auth/refresh", headers=cookie).status_code == 200


def test_a_secret_signed_token_is_refused_once_access_tokens_use_a_private_key(client, use_settings, tmp_path):
    hmac_token = login(client).json()["access_token"]
    keys.write_key_file(tmp_path, keys.new_private_key("ES256"), now=1_700_000_000)
    use_settings(jwt_algorithm="ES256", signing_keys_dir=str(tmp_path))
    assert client.get("/users/me", headers=bearer(hmac_token)).status_code == 401


def test_the_newest_key_signs_unless_signing_key_id_names_another(tmp_path):
    older = keys.read_key_file(keys.write_key_file(tmp_path, keys.new_private_key("ES256"), now=1_700_000_000))
    newer = keys.read_key_file(keys.write_key_file(tmp_path, keys.new_private_key("ES256"), now=1_800_000_000))
    settings = msgspec.structs.replace(tokens.settings, jwt_algorithm="ES256", signing_keys_dir=str(tmp_path))
    assert keys.load(settings).access.signing.kid == newer.kid
    pinned = msgspec.structs.replace(settings, signing_key_id=older.kid)
    assert keys.load(pinned).access.signing.kid == older.kid
    assert set(keys.load(pinned).access.by_kid) == {older.kid, newer.kid}
    with pytest.raises(SystemExit, match="has no RS256 key"):
        keys.load(msgspec.structs.replace(settings, jwt_algorithm="RS256"))


def test_the_metadata_names_the_issuer_and_its_endpoints(client, monkeypatch):
    issuer = msgspec.structs.replace(tokens.settings, token_issuer="https://auth.example.com/")
    monkeypatch.setattr(well_known, "settings", issuer)
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document == {
        "issuer": "https://auth.example.com/",
        "token_endpoint": "https://auth.example.com/auth/token",
        "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
        "scopes_supported": ["me", "items", "admin"],
        "grant_types_supported": ["password"],
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": [],
    }


def command(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m {{ cookiecutter.package_name }} ARGS` from an empty folder, with `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in {"JWT_ALGORITHM", "SIGNING_KEYS_DIR", "SIGNING_KEY_ID"}}
    env = {"SECRET_KEY": "k" * 64, "PYTHONPATH": str(PROJECT_ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", *args],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_keys_commands_make_list_and_retire_key_files(tmp_path):
    first = command(tmp_path, "keys", "new", JWT_ALGORITHM="ES256").stdout.splitlines()[0]
    second = command(tmp_path, "keys", "new", JWT_ALGORITHM="ES256").stdout.splitlines()[0]
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "keys" / f"{first}.pem").stat().st_mode & 0o777 == 0o600
    listed = command(tmp_path, "keys", "list", JWT_ALGORITHM="ES256").stdout.splitlines()
    assert listed[1].split()[:2] == [second, "ES256"] and "signs access tokens" in listed[1]
    assert listed[2].split()[0] == first and "verifies access tokens" in listed[2]
    refused = command(tmp_path, "keys", "retire", second, JWT_ALGORITHM="ES256")
    assert (refused.returncode, refused.stderr.splitlines()[0][:22]) == (1, "error: that key signs ")
    retired = command(tmp_path, "keys", "retire", first, JWT_ALGORITHM="ES256")
    assert retired.returncode == 0 and "warning:" in retired.stdout
    assert not (tmp_path / "keys" / f"{first}.pem").exists()
    unknown = command(tmp_path, "keys", "retire", f"../keys/{second}", JWT_ALGORITHM="ES256")
    assert unknown.returncode == 1 and (tmp_path / "keys" / f"{second}.pem").exists()


def test_without_a_key_to_sign_with_the_service_refuses_to_start_with_one_line(tmp_path):
    result = command(tmp_path, "keys", "list", JWT_ALGORITHM="ES256")
    assert result.returncode == 1
    assert "has no ES256 key to sign with" in result.stderr and "keys new" in result.stderr
    started = subprocess.run(
        [sys.executable, "-c", "import {{ cookiecutter.package_name }}.main"],
        cwd=tmp_path,
        env={**os.environ, "SECRET_KEY": "k" * 64, "PYTHONPATH": str(PROJECT_ROOT), "JWT_ALGORITHM": "ES256"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "has no ES256 key to sign with" in started.stderr and "Traceback" not in started.stderr


def test_hmac_keys_new_explains_rotation_instead(tmp_path):
    result = command(tmp_path, "keys", "new")
    assert result.returncode == 0 and "PREVIOUS_SECRET_KEYS" in result.stdout
    assert not (tmp_path / "keys").exists()
