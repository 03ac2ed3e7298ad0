"""Test set-up: fixed settings for every test, whatever .env says, then the app."""

import asyncio
import contextlib
import itertools
import os
import secrets
import time

# Set before the app is imported: settings are read once, and real variables win over .env.
os.environ["SECRET_KEY"] = secrets.token_urlsafe(64)
os.environ["COOKIE_SECURE"] = "true"  # the production default; tests talk https to the test client
os.environ["ALLOWED_ORIGINS"] = "https://app.example.com"
os.environ["LOGIN_REFUSAL_DELAY_SECONDS"] = "0"  # 429s at once: test_throttle.py checks the delay

import httpx
import msgspec
import pytest
from FasterAPI.testclient import TestClient
from jose import jwt
from passlib.context import CryptContext

from {{ cookiecutter.package_name }} import hashing
from {{ cookiecutter.package_name }}.hashing import hash_password, password_context
from {{ cookiecutter.package_name }}.keys import hmac_kid
from {{ cookiecutter.package_name }}.main import app
from {{ cookiecutter.package_name }}.models import UserInDB
from {{ cookiecutter.package_name }}.routers import signup
from {{ cookiecutter.package_name }}.settings import settings
from {{ cookiecutter.package_name }}.user_store import user_store

ALICE = ("alice", "secret")
# An admin the tests add to every backend (the fake DB's code has none).
ROOT = ("root", "root's long password")
OWN_PASSWORD = "a password nobody uses"


def quick_hash(password: str) -> str:
    """The service's scheme at the lowest cost, so that logging in takes milliseconds."""
    return password_context.handler("bcrypt_sha256").using(rounds=4).hash(password)


@pytest.fixture(scope="session", autouse=True)
def users_exist() -> None:
    """The guide's alice / secret (the fake DB has her in code; a real database gets her here,
    with the same scopes), and the admin root."""
    if asyncio.run(user_store.get(ALICE[0])) is None:
        alice = UserInDB(
            username=ALICE[0],
            email="alice@example.com",
            hashed_password=hash_password(ALICE[1]),
            scopes=("me", "items"),
        )
        asyncio.run(user_store.create(alice))
    if asyncio.run(user_store.get(ROOT[0])) is None:
        root = UserInDB(username=ROOT[0], hashed_password=quick_hash(ROOT[1]), scopes=("me", "items", "admin"))
        asyncio.run(user_store.create(root))


def new_user(password: str = OWN_PASSWORD, scopes: tuple[str, ...] = ("me", "items")) -> str:
    """A user of its own for a test that changes it (password, sessions); its name."""
    username = f"user{time.monotonic_ns()}"
    user = UserInDB(username=username, hashed_password=quick_hash(password), scopes=scopes)
    asyncio.run(user_store.create(user))
    return username


@contextlib.contextmanager
def signup_allowed():
    """ALLOW_SIGNUP=true while inside."""
    original = signup.settings
    signup.settings = msgspec.structs.replace(original, allow_signup=True)
    try:
        yield
    finally:
        signup.settings = original


@pytest.fixture
def cheap_hashing(monkeypatch) -> None:
    """New passwords hashed at the lowest cost, for tests that set many (sign-up, changes)."""
    cheap = CryptContext(schemes=["bcrypt_sha256", "bcrypt"], bcrypt_sha256__rounds=4)
    monkeypatch.setattr(hashing, "password_context", cheap)


ADDRESSES = (f"10.0.{n // 256}.{n % 256}" for n in itertools.count(1))


def client_at(address: str) -> TestClient:
    """A test client whose requests come from `address`."""
    test_client = TestClient(app, base_url="https://testserver")
    test_client._transport.client = (address, 50000)  # the framework's TestClient has no option for it
    return test_client


def async_client_at(address: str) -> httpx.AsyncClient:
    """An async client of the app whose requests come from `address`: for requests at once."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


@pytest.fixture
def client() -> TestClient:
    """Each test's requests come from an address of their own, so the failed logins of one test
    never throttle another's."""
    return client_at(next(ADDRESSES))


@pytest.fixture(scope="module")
def spec() -> dict:
    """The service's OpenAPI document."""
    response = TestClient(app, base_url="https://testserver").get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


def login(client: TestClient, username: str = ALICE[0], password: str = ALICE[1]):
    return client.post("/auth/token", data={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token(client: TestClient) -> str:
    response = login(client)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def uid_of(username: str) -> str:
    user = asyncio.run(user_store.get(username))
    assert user is not None, username
    return user.uid


def make_token(key: str = settings.secret_key, algorithm: str = "HS256", **claims) -> str:
    """A token signed as the service would, with any claims: for forging and corner cases.
    `sub` names a user (alice unless given): an existing user's name becomes their id, as the
    service writes it; any other value is signed as it is. The header names the key (`kid`) as
    the service's own do: a token signed with another key names a key the service does not have."""
    now = int(time.time())
    payload = {"sub": "alice", "type": "access", "iat": now, "exp": now + 600, "jti": secrets.token_hex(8)}
    payload["scope"] = "me items admin" if claims.get("sub") == ROOT[0] else "me items"
    payload.update(claims)
    if isinstance(payload["sub"], str) and payload["sub"]:
        user = asyncio.run(user_store.get(payload["sub"]))
        payload["sub"] = user.uid if user else payload["sub"]
    headers = {"kid": hmac_kid(key)}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm=algorithm, headers=headers)


def admin_token(**claims) -> dict[str, str]:
    """Authorization for root (or `sub`), with the admin scope."""
    return bearer(make_token(**{"sub": ROOT[0], "scope": "me items admin", **claims}))


@pytest.fixture
def put_user():
    """Returns a function that stores a user for one test: afterwards, a user it replaced is put
    back and one it added is deleted."""
    before: dict[str, UserInDB | None] = {}

    def put(user: UserInDB) -> None:
        existing = asyncio.run(user_store.get(user.username))
        before.setdefault(user.username, existing)
        asyncio.run(user_store.create(user) if existing is None else user_store.save(user))

    yield put
    for username, user in before.items():
        if user is None:
            asyncio.run(user_store.delete(uid_of(username)))
        else:
            asyncio.run(user_store.save(user))


@pytest.fixture
def disable_alice(put_user):
    """Returns a function that disables alice; she is restored afterwards."""
    alice = asyncio.run(user_store.get("alice"))
    return lambda: put_user(msgspec.structs.replace(alice, disabled=True))
