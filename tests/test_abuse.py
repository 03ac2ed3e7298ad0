"""Under attack and under retry (issue 12), over real HTTP against served bakes: login throttling
from distinct loopback source addresses (127.0.0.2, 127.0.0.3, ...), X-Forwarded-For believed only
from TRUSTED_PROXIES however the service is started, the 503 of a full queue of password checks,
and the refresh retry window across two processes on SQLite and PostgreSQL."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .conftest import free_port, serve, uvicorn_command
from .test_sql_service import PASSWORD, Service

LIMIT = 5  # LOGIN_FAILURES_PER_USER's default


def client_from(address: str) -> httpx.Client:
    """A client whose connections leave from `address` (any of 127.0.0.0/8 reaches the service)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


def log_in(client: httpx.Client, base_url: str, password: str, headers: dict | None = None) -> httpx.Response:
    form = {"username": "alice", "password": password}
    return client.post(f"{base_url}/auth/token", data=form, headers=headers)


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert set(response.json()) == {"error", "error_description", "detail"}


def start(how: str, python, project, package: str, **env: str):
    """Serve a bake as its README says: `python -m PACKAGE`, or plain `uvicorn PACKAGE.main:app`."""
    port = free_port()
    if how == "python -m":
        return serve([python, "-m", package], project, port, env={"PORT": str(port), **env})
    return serve(uvicorn_command(python, package, port), project, port, env=env)


# --- Throttling and client addresses (database=fake) -------------------------------------------


def test_a_throttled_address_is_refused_even_the_right_password_and_others_are_not(service_python, default_project):
    with start("uvicorn", service_python, default_project, "my_service") as url:
        attacker, user = client_from("127.0.0.2"), client_from("127.0.0.3")
        for _ in range(LIMIT):
            assert log_in(attacker, url, "wrong").status_code == 401
        assert_throttled(log_in(attacker, url, "secret"))
        assert log_in(user, url, "secret").status_code == 200


@pytest.mark.parametrize("how", ["uvicorn", "python -m"])
def test_x_forwarded_for_from_anyone_but_a_trusted_proxy_is_ignored(service_python, default_project, how):
    """uvicorn itself believes X-Forwarded-For from 127.0.0.1: the service must not."""
    with start(how, service_python, default_project, "my_service") as url:
        local = client_from("127.0.0.1")
        for number in range(LIMIT):
            forged = {"X-Forwarded-For": f"198.51.100.{number}"}
            assert log_in(local, url, "wrong", forged).status_code == 401
        assert_throttled(log_in(local, url, "secret", {"X-Forwarded-For": "198.51.100.99"}))


@pytest.mark.parametrize("how", ["uvicorn", "python -m"])
def test_x_forwarded_for_from_a_trusted_proxy_is_believed(service_python, default_project, how):
    with start(how, service_python, default_project, "my_service", TRUSTED_PROXIES="127.0.0.4") as url:
        proxy, stranger = client_from("127.0.0.4"), client_from("127.0.0.5")
        attacker, user = {"X-Forwarded-For": "198.51.100.1"}, {"X-Forwarded-For": "198.51.100.2"}
        for _ in range(LIMIT):
            assert log_in(proxy, url, "wrong", attacker).status_code == 401
        assert_throttled(log_in(proxy, url, "secret", attacker))
        assert log_in(proxy, url, "secret", user).status_code == 200  # through the same proxy
        # Not a trusted proxy: its forwarded addresses are not believed, so they cannot hide it.
        for number in range(LIMIT):
            assert log_in(stranger, url, "wrong", {"X-Forwarded-For": f"198.51.100.{10 + number}"}).status_code == 401
        assert_throttled(log_in(stranger, url, "secret", user))


def test_a_full_queue_of_password_checks_is_503_and_protected_routes_carry_on(service_python, default_project):
    """No waiting places (only the hashing threads): logins past them get 503 at once."""
    with start("uvicorn", service_python, default_project, "my_service", PASSWORD_CHECKS_WAITING_PER_CPU="0") as url:
        token = log_in(client_from("127.0.0.1"), url, "secret").json()["access_token"]
        clients = [client_from(f"127.0.1.{number}") for number in range(1, 13)]
        go = threading.Barrier(len(clients))

        def one_login(client: httpx.Client) -> httpx.Response:
            go.wait()
            return log_in(client, url, "secret")

        with ThreadPoolExecutor(len(clients)) as pool:
            logins = [pool.submit(one_login, client) for client in clients]
            me = httpx.get(f"{url}/users/me", headers={"Authorization": f"Bearer {token}"})
            responses = [login.result() for login in logins]
        assert me.status_code == 200
        statuses = [response.status_code for response in responses]
        assert set(statuses) <= {200, 503} and 503 in statuses, statuses
        assert all(response.headers["retry-after"] == "1" for response in responses if response.status_code == 503)


# --- SQL: counters and the retry window shared by two processes ----------------------------------


@pytest.fixture
def service(backend, sql_projects, sql_python, database_url) -> Service:
    service = Service(backend, sql_projects[backend], sql_python, database_url)
    service.command("migrate")
    service.create_alice()
    return service


def refresh(base_url: str, token: str) -> httpx.Response:
    return httpx.post(f"{base_url}/auth/refresh", headers={"Cookie": f"refresh_token={token}"})


def test_two_processes_count_failures_together(service):
    # A wait longer than the refusals are held (1 s), so both refusals fall within it.
    with service.serve(LOGIN_WAIT_SECONDS="60") as a, service.serve(LOGIN_WAIT_SECONDS="60") as b:
        attacker = client_from("127.0.0.2")
        for number in range(LIMIT):
            assert log_in(attacker, (a, b)[number % 2], "wrong").status_code == 401
        assert_throttled(log_in(attacker, a, PASSWORD))
        assert_throttled(log_in(attacker, b, PASSWORD))
        assert log_in(client_from("127.0.0.3"), b, PASSWORD).status_code == 200


def test_the_retry_window_across_two_processes(service):
    with service.serve() as a, service.serve() as b:
        first = log_in(client_from("127.0.0.2"), a, PASSWORD).cookies["refresh_token"]
        rotated = refresh(a, first)
        retried = refresh(b, first)  # the answer from a was lost: the retry reaches b
        assert retried.status_code == 200
        assert retried.cookies["refresh_token"] == rotated.cookies["refresh_token"]
        me = httpx.get(f"{b}/users/me", headers={"Authorization": f"Bearer {retried.json()['access_token']}"})
        assert me.status_code == 200
        assert refresh(a, retried.cookies["refresh_token"]).status_code == 200  # one live token, still good


def test_after_the_window_a_retry_is_reuse_on_the_other_process(service):
    with service.serve(REFRESH_REUSE_GRACE_SECONDS="1") as a, service.serve(REFRESH_REUSE_GRACE_SECONDS="1") as b:
        first = log_in(client_from("127.0.0.2"), a, PASSWORD).cookies["refresh_token"]
        rotated = refresh(a, first).cookies["refresh_token"]
        time.sleep(1.5)
        assert refresh(b, first).status_code == 401
        assert refresh(a, rotated).status_code == 401  # the family is revoked
