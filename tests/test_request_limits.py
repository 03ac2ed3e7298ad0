"""The hardening of issue 17 over real HTTP against served SQL bakes: JSON routes refuse other
bodies (415), oversized or too many headers get 431 however the service is started (plain
`uvicorn` and `python -m`), a repeated query parameter is a 422 rather than a 500, and the SQLite
file and its folder are the service user's only. Raw requests go through a socket, where httpx
would refuse or rewrite them."""

import socket
import stat
from pathlib import Path

import httpx
import pytest

from . import test_sql_service
from .test_abuse import start
from .test_sql_service import PASSWORD, Service, login

service = test_sql_service.service  # the fixture: a SQL bake, migrated, on each database

NOT_JSON = {"detail": "Send the request body as JSON, with Content-Type: application/json"}


def bearer(base_url: str, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(base_url, username).json()['access_token']}"}


def raw_request(base_url: str, head: bytes, body: bytes = b"") -> int | None:
    """Send `head` (request line and headers, without the blank line) and `body` as they are; the
    status of the answer, or None if the server closed the connection without one."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        try:
            connection.sendall(head + b"\r\n\r\n" + body)
            answer = connection.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            return None
    return int(answer.split(b" ", 2)[1]) if answer else None


def test_json_routes_refuse_other_bodies_with_415(service):
    service.create_alice()
    service.command("users", "create", "root", "--admin", stdin=f"{PASSWORD}\n")
    with service.serve(ALLOW_SIGNUP="true") as url:
        admin = bearer(url, "root")
        text = {"Content-Type": "text/plain"}  # what another site's page sends without a preflight
        for path, headers in (("/auth/register", {}), ("/users", admin)):
            for name in ("eve", "mallory"):
                body = {"username": name, "password": PASSWORD}
                refused = httpx.post(f"{url}{path}", headers={**headers, **text}, json=body)
                assert (refused.status_code, refused.json()) == (415, NOT_JSON), refused.text
                name = f"{name}{path.replace('/', '-')}"
                created = httpx.post(f"{url}{path}", headers=headers, json={"username": name, "password": PASSWORD})
                assert created.status_code == 201, created.text  # the same body as JSON is read
        assert login(url, "eve").status_code == 401  # no eve was made from the text/plain bodies

        # A form labelled JSON is still refused by the login route's own check (422, OAuth2 error).
        form = httpx.post(f"{url}/auth/token", content=f"username=alice&password={PASSWORD}", headers=text)
        assert (form.status_code, form.json()["error"]) == (422, "invalid_request")

        # No body, no Content-Type: the cookie routes work as before (sent raw: nothing added).
        cookie = login(url).cookies["refresh_token"]
        host = url.removeprefix("http://").encode()
        for path in (b"/auth/refresh", b"/auth/logout"):
            head = b"POST " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nCookie: refresh_token=" + cookie.encode()
            assert raw_request(url, head) in (200, 204)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the framework's parsing, whatever the database
def test_a_repeated_query_parameter_is_422_naming_it_not_500(service):
    service.command("users", "create", "root", "--admin", stdin=f"{PASSWORD}\n")
    with service.serve() as url:
        admin = bearer(url, "root")
        for query, name in (("offset=1&offset=2", "offset"), ("limit=1&limit=1", "limit")):
            listed = httpx.get(f"{url}/users?{query}", headers=admin)
            assert listed.status_code == 422, listed.text
            assert listed.json()["detail"][0]["loc"] == ["query", name]
        assert httpx.get(f"{url}/users?offset=1", headers=admin).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the limits do not depend on the database
@pytest.mark.parametrize("how", ["uvicorn", "python -m"])
def test_oversized_or_too_many_headers_get_431(service, how):
    with start(how, service.python, service.project, service.package, **service.env) as url:
        request_line = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        assert raw_request(url, request_line + b"X-Small: 1") == 200
        for head in (
            request_line + b"X-Big: " + b"x" * 64 * 1024,  # uvicorn took 8 MB
            request_line + b"\r\n".join(b"X-H%d: 1" % n for n in range(1000)),  # and 100,000 of them
        ):
            assert raw_request(url, head) == 431  # from the app: uvicorn's httptools parser took it whole
        assert httpx.get(f"{url}/health").status_code == 200  # and serves on


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_file_and_its_folder_are_the_service_users_only(sql_projects, sql_python, tmp_path):
    """The file holds password hashes: SQLite alone would make it readable by everyone (0644)."""
    path = tmp_path / "data" / "service.db"  # a folder that does not exist yet
    bake = Service("sqlite", sql_projects["sqlite"], sql_python, f"sqlite+aiosqlite:///{path}")
    assert "from empty to revision" in bake.command("migrate").stdout
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)
    bake.create_alice()
    with bake.serve() as url:
        assert login(url).status_code == 200  # a write: WAL mode keeps -wal and -shm files open
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert [mode(file) for file in files] == [0o600] * 3
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)
