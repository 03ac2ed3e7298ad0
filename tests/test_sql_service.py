"""The SQL backends (database=sqlite and database=postgresql): each bake installed, migrated with
its own command, served by uvicorn on a real SQLite file or PostgreSQL database, driven over HTTP:
the README's session, restarts, two processes on one database, a database that goes away and
comes back, migrations up and down, and the service's refusals to start."""

import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from . import postgres
from .conftest import free_port, run, run_project_tests, serve, uvicorn_command
from .test_service import check_readme_curl_sessions, check_refresh_cycle, check_seed_session

PASSWORD = "correct horse battery staple"
PACKAGES = {"sqlite": "lite_service", "postgresql": "pg_service"}


class Service:
    """One baked SQL project, its installed python, and the database it is pointed at."""

    def __init__(self, backend: str, project: Path, python: Path, database_url: str) -> None:
        self.package = PACKAGES[backend]
        self.project = project
        self.python = python
        self.env = {"DATABASE_URL": database_url}

    def command(self, *args: str, stdin: str = "", check: bool = True):
        return run([self.python, "-m", self.package, *args], cwd=self.project, env=self.env, stdin=stdin, check=check)

    def serve(self, port: int | None = None, **env: str):
        port = port or free_port()
        return serve(uvicorn_command(self.python, self.package, port), self.project, port, env={**self.env, **env})

    def create_alice(self) -> None:
        self.command("users", "create", "alice", "--email", "alice@example.com", stdin=f"{PASSWORD}\n")


@pytest.fixture
def service(backend, sql_projects, sql_python, database_url) -> Service:
    service = Service(backend, sql_projects[backend], sql_python, database_url)
    assert "from empty to revision" in service.command("migrate").stdout
    return service


def login(base_url: str, username: str = "alice") -> httpx.Response:
    return httpx.post(f"{base_url}/auth/token", data={"username": username, "password": PASSWORD})


def refresh(base_url: str, token: str) -> httpx.Response:
    return httpx.post(f"{base_url}/auth/refresh", headers={"Cookie": f"refresh_token={token}"})


def test_the_readme_session_and_the_refresh_cycle(service):
    """As a new user follows the README: migrate (above), create alice, the curl sessions."""
    with service.serve() as url:
        check_readme_curl_sessions(
            url,
            service.project,
            python=service.python,
            stdin=f"{PASSWORD}\n{PASSWORD}\n",  # for `users create`, then for `read`
            env={**service.env, "PASSWORD": PASSWORD},
        )
        check_seed_session(url, password=PASSWORD)
        check_refresh_cycle(url, password=PASSWORD)


def test_sessions_survive_a_restart_and_so_does_reuse_detection(service):
    service.create_alice()
    port = free_port()
    with service.serve(port) as url:
        first = login(url).cookies["refresh_token"]
        second = refresh(url, first).cookies["refresh_token"]
    with service.serve(port) as url:  # a new process: nothing in memory
        third = refresh(url, second)
        assert third.status_code == 200, third.text
        assert refresh(url, first).status_code == 401  # spent before the restart: reuse
        assert refresh(url, third.cookies["refresh_token"]).status_code == 401  # the family is revoked


def test_two_processes_share_sessions_and_reuse_detection(service):
    service.create_alice()
    with service.serve() as a, service.serve() as b:
        first = login(a).cookies["refresh_token"]
        rotated = refresh(a, first).cookies["refresh_token"]
        retried = refresh(b, first)  # within the retry window, on the other process: the same successor
        assert (retried.status_code, retried.cookies["refresh_token"]) == (200, rotated)
        third = refresh(b, rotated).cookies["refresh_token"]
        assert refresh(a, first).status_code == 401  # two generations old: reuse
        assert refresh(a, third).status_code == 401  # revoked for both
        assert refresh(b, third).status_code == 401

        # 20 refreshes with one cookie at the same moment, spread over both: one successor, for all.
        cookie = login(b).cookies["refresh_token"]
        start = threading.Barrier(20)

        def racer(index: int) -> httpx.Response:
            start.wait()
            return refresh((a, b)[index % 2], cookie)

        with ThreadPoolExecutor(20) as pool:
            responses = list(pool.map(racer, range(20)))
        assert [response.status_code for response in responses] == [200] * 20
        assert len({response.cookies["refresh_token"] for response in responses}) == 1


def test_the_admin_routes_with_an_admin_the_cli_made_and_two_processes(service):
    """The README's way to an admin (`users create --admin`), then the admin routes over HTTP;
    a change made through one process reaches the other within USER_CACHE_SECONDS."""
    service.create_alice()
    service.command("users", "create", "root", "--admin", stdin=f"{PASSWORD}\n")
    service.env["USER_CACHE_SECONDS"] = "0.5"
    with service.serve() as a, service.serve() as b:
        admin = {"Authorization": f"Bearer {login(a, 'root').json()['access_token']}"}
        alice = {"Authorization": f"Bearer {login(b, 'alice').json()['access_token']}"}
        assert login(a, "root").json()["scope"] == "me items admin"
        assert httpx.get(f"{b}/users", headers=alice).status_code == 403

        bob = {"username": "bob", "password": PASSWORD, "scopes": ["items"]}
        created = httpx.post(f"{a}/users", headers=admin, json=bob)
        assert (created.status_code, created.json()["scopes"]) == (201, ["items"])
        listed = httpx.get(f"{b}/users", headers=admin, params={"limit": 2}).json()
        assert [user["username"] for user in listed["users"]] == ["alice", "bob"]
        assert listed["next_offset"] == 2

        bobs = login(b, "bob")
        bobs_token = {"Authorization": f"Bearer {bobs.json()['access_token']}"}
        assert httpx.get(f"{b}/items", headers=bobs_token).status_code == 200
        assert httpx.patch(f"{a}/users/bob", headers=admin, json={"disabled": True}).json()["disabled"]
        assert refresh(b, bobs.cookies["refresh_token"]).status_code == 401  # revoked in the database
        time.sleep(0.6)  # the other process's cached record expires
        assert httpx.get(f"{b}/items", headers=bobs_token).status_code == 401

        # A password change on one process refuses the old token on the other, too.
        old = {"Authorization": f"Bearer {login(a, 'alice').json()['access_token']}"}
        change = {"current_password": PASSWORD, "new_password": "a password nobody has ever used"}
        assert httpx.post(f"{a}/users/me/password", headers=old, json=change).status_code == 204
        time.sleep(0.6)
        assert httpx.get(f"{b}/users/me", headers=old).status_code == 401


def test_a_service_on_a_database_behind_the_code_refuses_to_start(backend, sql_projects, sql_python, database_url):
    service = Service(backend, sql_projects[backend], sql_python, database_url)  # not migrated
    port = free_port()
    command = uvicorn_command(sql_python, service.package, port)
    result = run(command, service.project, env=service.env, check=False, timeout=60)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"run `python -m {service.package} migrate` first" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("url", "named"),
    [("mysql://db.example/app", "'mysql' is not supported"), ("not a url", "not a database URL")],
)
def test_a_bad_database_url_is_one_line(sql_projects, sql_python, url, named):
    result = run(
        [sql_python, "-m", PACKAGES["sqlite"], "migrate"],
        cwd=sql_projects["sqlite"],
        env={"DATABASE_URL": url},
        check=False,
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Invalid setting DATABASE_URL: ")
    assert named in line


def test_migrations_go_down_and_up_and_match_the_code(service):
    alembic = [service.python.parent / "alembic"]
    run([*alembic, "downgrade", "base"], cwd=service.project, env=service.env)
    assert "from empty to revision" in service.command("migrate").stdout
    assert "is up to date" in service.command("migrate").stdout
    # autogenerate finds nothing to add: tables.py and the migrations agree
    checked = run([*alembic, "check"], cwd=service.project, env=service.env)
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr


def test_the_generated_test_suites_pass(backend, sql_projects, sql_python):
    env = {"TEST_DATABASE_URL": postgres.async_url(postgres.SERVER_URL)} if backend == "postgresql" else {}
    run_project_tests(sql_python, sql_projects[backend], env=env)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # the lock is PostgreSQL's LOCK TABLE
def test_a_database_slower_than_the_timeout_gets_503_not_a_hang(backend, sql_projects, sql_python, database_url):
    """Another session holds a lock on users: the service's queries wait DATABASE_TIMEOUT_SECONDS,
    then answer 503; once the lock goes, logins work again."""
    service = Service(backend, sql_projects[backend], sql_python, database_url)
    service.command("migrate")
    service.create_alice()
    service.env["DATABASE_TIMEOUT_SECONDS"] = "1"
    plain_url = database_url.replace("+asyncpg", "")
    with service.serve() as base:
        holder = subprocess.Popen(
            ["psql", plain_url, "-c", "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1)  # the lock is held
            started = time.monotonic()
            response = login(base)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert time.monotonic() - started < 4
        finally:
            holder.wait(timeout=30)
        assert login(base).status_code == 200


# --- PostgreSQL stops and starts under a running service ----------------------------------------


@pytest.fixture
def private_postgres():
    postgres.require_server()
    problem = postgres.private_server_problem()
    if problem:
        pytest.skip(problem)
    server = postgres.PrivateServer(free_port())
    server.create()
    server.start()
    yield server
    server.remove()


def test_the_service_answers_503_while_postgres_is_down_and_recovers_alone(sql_projects, sql_python, private_postgres):
    with postgres.database(private_postgres.url) as url:
        service = Service("postgresql", sql_projects["postgresql"], sql_python, url)
        service.command("migrate")
        service.create_alice()
        with service.serve() as base:
            token = login(base).json()["access_token"]
            me = {"Authorization": f"Bearer {token}"}
            assert httpx.get(f"{base}/users/me", headers=me).status_code == 200

            private_postgres.stop()
            for response in (login(base), httpx.get(f"{base}/health/ready")):
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
                assert "database" in response.json()["detail"]
            assert httpx.get(f"{base}/health").status_code == 200

            private_postgres.start()
            assert httpx.get(f"{base}/health/ready").status_code == 200
            fresh = login(base)
            assert fresh.status_code == 200
            me = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
            assert httpx.get(f"{base}/users/me", headers=me).json()["username"] == "alice"
