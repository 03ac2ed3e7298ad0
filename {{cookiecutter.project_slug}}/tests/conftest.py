"""Test set-up: fixed settings for every test, whatever .env says, then the app."""

import asyncio
import os
import secrets
import time

# Set before the app is imported: settings are read once, and real variables win over .env.
os.environ["SECRET_KEY"] = secrets.token_urlsafe(64)
os.environ["COOKIE_SECURE"] = "true"  # the production default; tests talk https to the test client
os.environ["ALLOWED_ORIGINS"] = "https://app.example.com"

import msgspec
import pytest
from FasterAPI.testclient import TestClient
from jose import jwt

from {{ cookiecutter.package_name }}.main import app
from {{ cookiecutter.package_name }}.settings import settings
from {{ cookiecutter.package_name }}.user_store import fake_users_db

ALICE = ("alice", "secret")


@pytest.fixture
def client() -> TestClient:
    return TestClient(app, base_url="https://testserver")


def login(client: TestClient, username: str = ALICE[0], password: str = ALICE[1]):
    return client.post("/auth/token", data={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token(client: TestClient) -> str:
    response = login(client)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def make_token(key: str = settings.secret_key, algorithm: str = "HS256", **claims) -> str:
    """A token signed as the service would, with any claims: for forging and corner cases."""
    now = int(time.time())
    payload = {"sub": "alice", "type": "access", "iat": now, "exp": now + 600, "jti": secrets.token_hex(8)}
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm=algorithm)


@pytest.fixture
def disable_alice():
    """Returns a function that disables alice in the fake DB; she is restored afterwards."""
    original = asyncio.run(fake_users_db.get("alice"))

    def disable() -> None:
        asyncio.run(fake_users_db.save(msgspec.structs.replace(original, disabled=True)))

    yield disable
    asyncio.run(fake_users_db.save(original))
