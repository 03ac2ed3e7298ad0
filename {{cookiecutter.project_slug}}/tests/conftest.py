"""Test set-up: fixed settings for every test, whatever .env says, then the app."""

import os
import secrets

# Set before the app is imported: settings are read once, and real variables win over .env.
os.environ["SECRET_KEY"] = secrets.token_urlsafe(64)
os.environ["COOKIE_SECURE"] = "true"  # the production default; tests talk https to the test client
os.environ["ALLOWED_ORIGINS"] = "https://app.example.com"

import msgspec  # noqa: E402
import pytest  # noqa: E402
from FasterAPI.testclient import TestClient  # noqa: E402

from {{ cookiecutter.package_name }}.main import app  # noqa: E402
from {{ cookiecutter.package_name }}.user_store import fake_users_db  # noqa: E402

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


@pytest.fixture
def disable_alice():
    """Returns a function that disables alice in the fake DB; she is restored afterwards."""
    original = fake_users_db._users["alice"]

    def disable() -> None:
        fake_users_db._users["alice"] = msgspec.structs.replace(original, disabled=True)

    yield disable
    fake_users_db._users["alice"] = original
