"""The SQL stores against this run's real database (conftest.py at the project's top makes it):
atomic rotation, revocation, clean-up (of tokens and of old audit events), the user cache's
bound, the schema check at start, and 503 answers while the database is down."""

import asyncio
import functools
import time

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from {{ cookiecutter.package_name }} import database
from {{ cookiecutter.package_name }}.audit_store import audit_store
from {{ cookiecutter.package_name }}.models import AuditEvent, new_user_id
from {{ cookiecutter.package_name }}.refresh_store import refresh_store
from {{ cookiecutter.package_name }}.settings import settings
from {{ cookiecutter.package_name }}.stores import AuditQuery, NoSuchUser, RefreshRecord, UserExists
from {{ cookiecutter.package_name }}.tables import refresh_tokens
from {{ cookiecutter.package_name }}.user_cache import UserCache
from {{ cookiecutter.package_name }}.user_store import SqlUserStore, user_store

from .conftest import admin_token, bearer, login, make_token, signup_allowed, uid_of
from .test_openapi import DATABASE_DOWN, assert_documented, operations


@functools.cache
def alice_id() -> str:
    return uid_of("alice")


def record(jti: str, family: str = "family", expires_in: int = 600) -> RefreshRecord:
    return RefreshRecord(jti, family, alice_id(), expires_at=int(time.time()) + expires_in)


async def states(*jtis: str) -> dict[str, str]:
    query = select(refresh_tokens.c.jti, refresh_tokens.c.state).where(refresh_tokens.c.jti.in_(jtis))
    async with database.transaction() as connection:
        return dict((await connection.execute(query)).all())


def unique(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns()}"


def test_concurrent_rotations_of_one_token_yield_exactly_one_successor():
    family, first = unique("family"), unique("jti")
    asyncio.run(refresh_store.add(record(first, family)))

    async def race() -> list[bool]:
        rotations = [refresh_store.rotate(first, record(f"{first}-next-{n}", family)) for n in range(20)]
        return await asyncio.gather(*rotations)

    assert sorted(asyncio.run(race())) == [False] * 19 + [True]

    async def successors() -> int:
        query = select(func.count()).select_from(refresh_tokens).where(refresh_tokens.c.jti.like(f"{first}-next-%"))
        async with database.transaction() as connection:
            return (await connection.execute(query)).scalar_one()

    assert asyncio.run(successors()) == 1
    assert asyncio.run(states(first)) == {first: "spent"}


def test_a_spent_or_unknown_token_does_not_rotate():
    family, first = unique("family"), unique("jti")
    asyncio.run(refresh_store.add(record(first, family)))
    assert asyncio.run(refresh_store.rotate(first, record(f"{first}-2", family)))
    assert not asyncio.run(refresh_store.rotate(first, record(f"{first}-3", family)))
    assert not asyncio.run(refresh_store.rotate(unique("never-issued"), record(f"{first}-4", family)))
    assert asyncio.run(states(f"{first}-3", f"{first}-4")) == {}


def test_the_successor_of_a_token_spent_since_is_found_while_it_is_live():
    family, first = unique("family"), unique("jti")
    asyncio.run(refresh_store.add(record(first, family)))
    second = msgspec.structs.replace(record(f"{first}-2", family), issued_at=int(time.time()))
    before = time.time()
    assert asyncio.run(refresh_store.rotate(first, second))
    assert asyncio.run(refresh_store.successor_spent_since(first, before - 1)) == second
    assert asyncio.run(refresh_store.successor_spent_since(first, time.time() + 1)) is None  # spent earlier
    asyncio.run(refresh_store.rotate(second.jti, record(f"{first}-3", family)))
    assert asyncio.run(refresh_store.successor_spent_since(first, before - 1)) is None  # no longer live


def test_revoking_a_family_leaves_other_logins_alone():
    mine, other = unique("mine"), unique("other")
    asyncio.run(refresh_store.add(record(mine, family=mine)))
    asyncio.run(refresh_store.add(record(other, family=other)))
    asyncio.run(refresh_store.revoke_family(mine))
    assert asyncio.run(states(mine, other)) == {mine: "revoked", other: "active"}


def test_revoking_a_user_ends_every_login_of_theirs(put_user):
    alice = asyncio.run(user_store.get("alice"))
    bob = msgspec.structs.replace(alice, username=unique("bob"), uid=new_user_id())
    put_user(bob)
    bobs = [RefreshRecord(unique("bob-token"), unique("family"), bob.uid, int(time.time()) + 600) for _ in "ab"]
    alices = record(unique("alice-token"), unique("family"))
    for each in [*bobs, alices]:
        asyncio.run(refresh_store.add(each))
    asyncio.run(refresh_store.revoke_user(bob.uid))
    assert set(asyncio.run(states(*(each.jti for each in bobs))).values()) == {"revoked"}
    assert asyncio.run(states(alices.jti)) == {alices.jti: "active"}


def test_expired_rows_are_deleted_by_the_service(monkeypatch):
    expired = unique("expired")
    asyncio.run(refresh_store.add(record(expired, expires_in=-10)))
    assert asyncio.run(states(expired)) == {expired: "active"}
    monkeypatch.setattr(refresh_store, "_next_cleanup", 0.0)  # the next add cleans up
    asyncio.run(refresh_store.add(record(unique("fresh"))))
    assert asyncio.run(states(expired)) == {}


def test_audit_events_older_than_the_retention_are_deleted_by_the_service(monkeypatch):
    """AUDIT_RETENTION_DAYS: the next event recorded after the clean-up interval deletes the
    older ones, and keeps those within the retention."""
    day, days = 86400, settings.audit_retention_days
    old = AuditEvent(unique("old"), time.time() - (days + 1) * day, "success")
    recent = AuditEvent(unique("recent"), time.time() - (days - 1) * day, "success")
    for event in (old, recent):
        asyncio.run(audit_store.add(event))
    monkeypatch.setattr(audit_store, "_next_cleanup", 0.0)  # the next add cleans up
    asyncio.run(audit_store.add(AuditEvent(unique("now"), time.time(), "success")))
    kept = {event.event for event in asyncio.run(audit_store.find(AuditQuery(since=old.time - day), limit=1000))}
    assert recent.event in kept and old.event not in kept


def test_create_save_and_delete_users():
    store = SqlUserStore(cache_seconds=5)
    alice = asyncio.run(store.get("alice"))
    carol = msgspec.structs.replace(alice, username=unique("carol"), uid=new_user_id(), email="carol@example.com")
    asyncio.run(store.create(carol))
    with pytest.raises(UserExists):
        asyncio.run(store.create(carol))
    asyncio.run(store.save(msgspec.structs.replace(carol, disabled=True, scopes=("me",))))
    assert asyncio.run(SqlUserStore(cache_seconds=0).get(carol.username)).scopes == ("me",)
    asyncio.run(store.delete(carol.uid))
    assert asyncio.run(store.get(carol.username)) is None
    with pytest.raises(NoSuchUser):
        asyncio.run(store.save(carol))


def test_a_change_reaches_other_processes_within_the_cache_bound():
    """Two stores stand for two processes: the writer sees its change at once, the other one
    keeps its cached record for at most the bound, then reads the change."""
    writer, other = SqlUserStore(cache_seconds=0.5), SqlUserStore(cache_seconds=0.5)
    alice = asyncio.run(other.get_by_id(uid_of("alice")))  # now in other's cache
    asyncio.run(writer.save(msgspec.structs.replace(alice, email="moved@example.com")))
    try:
        assert writer.cached(alice.uid).email == "moved@example.com"
        assert other.cached(alice.uid).email == alice.email  # still within the bound
        time.sleep(0.6)
        assert other.cached(alice.uid) is None  # too old: the next request reads the database
        assert asyncio.run(other.get_by_id(alice.uid)).email == "moved@example.com"
    finally:
        asyncio.run(writer.save(alice))


# --- The schema check at start ------------------------------------------------------------------


def engine_for(url: str):
    return create_async_engine(url, poolclass=NullPool)


def test_the_service_refuses_to_start_on_a_schema_behind_the_code(monkeypatch, empty_database):
    monkeypatch.setattr(database, "engine", engine_for(empty_database))
    with pytest.raises(database.StartupError, match=r"none \(empty\).*run `python -m \w+ migrate` first"):
        asyncio.run(database.check_schema())


def test_the_service_starts_on_a_migrated_database():
    asyncio.run(database.check_schema())


def test_the_service_refuses_to_start_without_its_database(monkeypatch, unreachable_url):
    monkeypatch.setattr(database, "engine", engine_for(unreachable_url))
    with pytest.raises(database.StartupError, match="Cannot reach the database"):
        asyncio.run(database.check_schema())


# --- The database down while serving --------------------------------------------------------------


@pytest.fixture
def database_down(monkeypatch, unreachable_url):
    """Returns a function that stops the database for the rest of the test (every connection
    fails, the user cache is empty), as a crashed or unreachable server would."""

    def stop() -> None:
        monkeypatch.setattr(database, "engine", engine_for(unreachable_url))
        monkeypatch.setattr(user_store, "_cache", UserCache(seconds=5))

    return stop


def test_a_protected_read_costs_no_database_round_trip(client, monkeypatch, unreachable_url):
    """Once its user is in the cache, /users/me answers while every connection fails: neither
    the user lookup nor the audit trail (a read records no event) touches the database."""
    token = bearer(make_token())
    assert client.get("/users/me", headers=token).status_code == 200
    monkeypatch.setattr(database, "engine", engine_for(unreachable_url))
    assert client.get("/health/ready").status_code == 503  # the database is out of reach
    for _ in range(3):
        assert client.get("/users/me", headers=token).status_code == 200


def test_every_route_that_reads_the_database_answers_503_while_it_is_down(client, spec, database_down, cheap_hashing):
    cookie = {"Cookie": login(client).headers["set-cookie"].split(";")[0]}
    token, admin = bearer(make_token()), admin_token()
    strong = "a password nobody has ever used"
    new = {"username": "newcomer", "password": strong}
    change = {"current_password": "secret", "new_password": strong}

    def register():
        with signup_allowed():
            return client.post("/auth/register", json=new)

    requests = {
        ("post", "/auth/token"): lambda: login(client),
        ("post", "/auth/refresh"): lambda: client.post("/auth/refresh", headers=cookie),
        ("post", "/auth/logout"): lambda: client.post("/auth/logout", headers=cookie),
        ("post", "/auth/logout-all"): lambda: client.post("/auth/logout-all", headers=cookie),
        ("post", "/auth/register"): register,
        ("get", "/users/me"): lambda: client.get("/users/me", headers=token),
        ("post", "/users/me/password"): lambda: client.post("/users/me/password", headers=token, json=change),
        ("get", "/users"): lambda: client.get("/users", headers=admin),
        ("post", "/users"): lambda: client.post("/users", headers=admin, json=new),
        ("patch", "/users/{username}"): lambda: client.patch("/users/alice", headers=admin, json={"disabled": True}),
        ("post", "/users/{username}/logout-all"): lambda: client.post("/users/alice/logout-all", headers=admin),
        ("get", "/items"): lambda: client.get("/items", headers=token),
        ("get", "/audit-events"): lambda: client.get("/audit-events", headers=admin),
        ("get", "/health/ready"): lambda: client.get("/health/ready"),
        ("post", "/auth/password-reset"): lambda: client.post("/auth/password-reset", json={"email": "a@example.com"}),
        ("post", "/auth/password-reset/confirm"): lambda: client.post(
            "/auth/password-reset/confirm", json={"token": "x" * 43, "new_password": strong}
        ),
        ("post", "/auth/verify-email"): lambda: client.post("/auth/verify-email", headers=token),
        ("post", "/auth/verify-email/confirm"): lambda: client.post("/auth/verify-email/confirm", json={"token": "x"}),
        ("patch", "/users/me"): lambda: client.patch("/users/me", headers=token, json={"email": "a@example.com"}),
    }
    documented = {(method, path) for method, path, op in operations(spec) if str(DATABASE_DOWN) in op["responses"]}
    assert documented == set(requests), "a route documents 503 without a request here, or the other way round"
    database_down()
    for (method, path), send in requests.items():
        response = send()
        assert response.status_code == 503, (method, path, response.text)
        assert response.headers["retry-after"] == "5"
        assert_documented(spec, method, path, response)
    assert client.get("/health").status_code == 200  # liveness does no I/O


def test_the_service_serves_again_once_the_database_is_back(client, database_down, monkeypatch):
    database_down()
    assert client.get("/health/ready").status_code == 503
    monkeypatch.undo()  # the database is back
    assert client.get("/health/ready").status_code == 200
    assert login(client).status_code == 200
