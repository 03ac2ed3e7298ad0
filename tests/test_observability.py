"""Operating a served bake (issue 20): the audit trail, request ids, JSON logs, Prometheus metrics
and OpenTelemetry traces, over HTTP on each `database` answer.

Each security event is made by one request, so each must appear once, in the JSON log and in
GET /audit-events (the audit_events table with SQL), with its actor, subject, client address and
the request id the answer carried; and no password, token or cookie value used may appear in
either."""

import json
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families

from . import postgres
from .conftest import free_port, run, serve, uvicorn_command
from .test_recovery_mail import Inbox
from .test_sql_service import PASSWORD, Service

# Password hashing takes seconds on a machine busy with other tests.
TIMEOUT = 30
http = httpx.Client(timeout=TIMEOUT)
NEW_PASSWORD = "a whole new passphrase 42"
BOB_PASSWORD = "bob's own long passphrase"
OPS_ENV = {
    "LOG_FORMAT": "json",
    "METRICS_ENABLED": "true",
    "ALLOW_SIGNUP": "true",
    "LOGIN_FAILURES_PER_USER": "1",  # the first failure makes the next attempt wait: throttled
    "LOGIN_REFUSAL_DELAY_SECONDS": "0",
    "REFRESH_REUSE_GRACE_SECONDS": "0",  # a spent token presented again is reuse at once
}


class Bake:
    """A served bake: its base URL, its log file, and who may administer it."""

    def __init__(self, service: Service | None, project: Path, python: Path, package: str) -> None:
        self.service, self.project, self.python, self.package = service, project, python, package
        self.env = dict(service.env) if service else {}

    @contextmanager
    def serve(self, **env: str):
        port = free_port()
        self.log = self.project / f"server-{port}.log"
        with serve(uvicorn_command(self.python, self.package, port), self.project, port, {**self.env, **env}) as url:
            yield url

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]


@pytest.fixture(params=["fake", "sqlite", "postgresql"])
def bake(request, tmp_path) -> Iterator[Bake]:
    if request.param == "fake":
        project, python = request.getfixturevalue("default_project"), request.getfixturevalue("service_python")
        yield Bake(None, project, python, "my_service")
        return
    if request.param == "postgresql":
        postgres.require_server()
    projects, python = request.getfixturevalue("sql_projects"), request.getfixturevalue("sql_python")
    if request.param == "sqlite":
        yield prepared(Service("sqlite", projects["sqlite"], python, f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"))
        return
    with postgres.database() as url:
        yield prepared(Service("postgresql", projects["postgresql"], python, url))


def prepared(service: Service) -> Bake:
    service.command("migrate")
    service.command("users", "create", "alice", "--admin", stdin=f"{PASSWORD}\n")
    return Bake(service, service.project, service.python, service.package)


def login(url: str, username: str, password: str, **options) -> httpx.Response:
    return http.post(f"{url}/auth/token", data={"username": username, "password": password}, **options)


def cookie(response: httpx.Response) -> str:
    return response.cookies["refresh_token"]


def with_cookie(value: str) -> dict:
    return {"Cookie": f"refresh_token={value}"}


def bearer(response: httpx.Response) -> dict:
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_each_event_once_with_its_fields_and_no_secrets(bake):
    sql = bake.service is not None
    alice_password = PASSWORD if sql else "secret"
    expected: dict[str, tuple[str, str | None, str | None]] = {}  # event: (request id, actor, subject)
    secrets: list[str] = [alice_password, NEW_PASSWORD, BOB_PASSWORD]

    def note(event: str, response: httpx.Response, actor: str | None, subject: str | None) -> None:
        assert response.status_code < 500, response.text
        expected[event] = (response.headers["x-request-id"], actor, subject)

    with bake.serve(**OPS_ENV) as url:
        first = login(url, "alice", alice_password)
        assert first.status_code == 200
        note("login.succeeded", first, "alice", "alice")
        secrets += [first.json()["access_token"], cookie(first)]

        renewed = http.post(f"{url}/auth/refresh", headers=with_cookie(cookie(first)))
        assert renewed.status_code == 200
        note("session.refreshed", renewed, "alice", "alice")
        secrets += [renewed.json()["access_token"], cookie(renewed)]
        replayed = http.post(f"{url}/auth/refresh", headers=with_cookie(cookie(first)))
        assert replayed.status_code == 401
        note("session.reuse_detected", replayed, None, "alice")

        second = login(url, "alice", alice_password)
        secrets += [second.json()["access_token"], cookie(second)]
        expected["login.succeeded"] = None  # two logins now: checked by count below
        logout = http.post(f"{url}/auth/logout", headers=with_cookie(cookie(second)))
        assert logout.status_code == 204
        note("session.logout", logout, "alice", "alice")

        signup = http.post(f"{url}/auth/register", json={"username": "Bob", "password": BOB_PASSWORD})
        assert signup.status_code == 201, signup.text
        note("user.signed_up", signup, None, "bob")
        failed = login(url, "bob", "not bob's password")
        assert failed.status_code == 401
        note("login.failed", failed, None, "bob")
        throttled = login(url, "bob", BOB_PASSWORD)
        assert throttled.status_code == 429
        note("login.throttled", throttled, None, "bob")

        time.sleep(1.1)  # past the wait
        bob = login(url, "bob", BOB_PASSWORD)
        assert bob.status_code == 200
        secrets += [bob.json()["access_token"], cookie(bob)]
        changed = http.post(
            f"{url}/users/me/password",
            json={"current_password": BOB_PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(bob),
        )
        assert changed.status_code == 204, changed.text
        note("password.changed", changed, "bob", "bob")
        bob = login(url, "bob", NEW_PASSWORD)
        secrets += [bob.json()["access_token"], cookie(bob)]
        everywhere = http.post(f"{url}/auth/logout-all", headers=with_cookie(cookie(bob)))
        assert everywhere.status_code == 204
        note("session.logout_all", everywhere, "bob", "bob")

        if sql:  # an admin exists only where the CLI could make one
            admin = bearer(second)
            carol = http.post(
                f"{url}/users", json={"username": "carol", "password": NEW_PASSWORD, "scopes": ["me"]}, headers=admin
            )
            assert carol.status_code == 201, carol.text
            note("user.created", carol, "alice", "carol")
            for event, change in [
                ("user.disabled", {"disabled": True}),
                ("user.enabled", {"disabled": False}),
                ("user.scopes_changed", {"scopes": ["me", "items"]}),
                ("user.changed", {"disabled": False}),
            ]:
                answer = http.patch(f"{url}/users/carol", json=change, headers=admin)
                assert answer.status_code == 200, answer.text
                note(event, answer, "alice", "carol")
            cut = http.post(f"{url}/users/carol/logout-all", headers=admin)
            assert cut.status_code == 204
            note("user.logout_all", cut, "alice", "carol")
            bake.service.command("users", "delete", "carol")

            page = http.get(f"{url}/audit-events", params={"limit": 100}, headers=admin)
            assert page.status_code == 200, page.text
            assert page.json()["next_offset"] is None
            only_carol = http.get(f"{url}/audit-events", params={"user": "Carol", "limit": 2}, headers=admin).json()
            assert [event["subject_name"] for event in only_carol["events"]] == ["carol", "carol"]
            assert only_carol["next_offset"] == 2
        else:
            page = None

    logged = [line for line in bake.log_lines() if line.get("audit")]
    stored = page.json()["events"] if page else None
    if sql:
        tail = bake.service.command("audit", "tail", "-n", "1000").stdout
        stored_all = [json.loads(line) for line in tail.splitlines()]
        assert [event["event"] for event in stored_all if event["event"] == "user.deleted"] == ["user.deleted"]
        deleted = next(event for event in stored_all if event["event"] == "user.deleted")
        assert deleted["subject_name"] == "carol" and deleted["actor_id"] is None and deleted["address"] is None
        for secret in secrets:
            assert secret not in tail
            assert secret not in page.text
    for records in [logged] + ([stored] if stored is not None else []):
        names = [record["event"] for record in records]
        assert names.count("login.succeeded") == 4
        for event, found in expected.items():
            if found is None:
                continue
            request_id, actor, subject = found
            # Of this service's requests (the CLI's, which made alice, have no request id).
            matching = [record for record in records if record["event"] == event and record["request_id"]]
            assert len(matching) == 1, (event, matching)
            record = matching[0]
            assert record["request_id"] == request_id, event
            assert record["subject_name"] == subject, event
            if actor is not None:
                assert record["actor_name"] == actor, event
            assert record["address"] == "127.0.0.1", event
            assert record["outcome"] in ("success", "failure", "refused")
    text = bake.log.read_text()
    for secret in secrets:
        assert secret not in text
    # Every access log line carries its request's id, the one the answer said.
    access = [line for line in bake.log_lines() if line["logger"] == "uvicorn.access"]
    ids = {line["request_id"] for line in access}
    assert all(request_id in ids for request_id, *_ in filter(None, expected.values()))


def test_request_ids_flow_from_a_trusted_proxy_and_are_made_for_others(bake):
    with bake.serve(LOG_FORMAT="json", TRUSTED_PROXIES="127.0.0.1") as url:
        given = http.get(f"{url}/health", headers={"X-Request-ID": "proxy-id-123"})
        assert given.headers["x-request-id"] == "proxy-id-123"
        other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=TIMEOUT)
        made = other.get(f"{url}/health", headers={"X-Request-ID": "forged-id-456"})
        assert made.headers["x-request-id"] not in ("forged-id-456", "")
        made_id = made.headers["x-request-id"]
    lines = bake.log_lines()
    assert any(line.get("request_id") == "proxy-id-123" and "GET /health" in line["message"] for line in lines)
    assert any(line.get("request_id") == made_id for line in lines)
    assert "forged-id-456" not in bake.log.read_text()


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_metrics_move_and_are_refused_elsewhere(bake):
    password = PASSWORD if bake.service else "secret"
    with bake.serve(METRICS_ENABLED="true") as url:
        before = http.get(f"{url}/metrics").text
        logged_in = login(url, "alice", password)
        assert logged_in.status_code == 200
        assert login(url, "alice", "wrong").status_code == 401
        http.get(f"{url}/users/nobody-here")  # a route template, not a new series per name
        for _ in range(2):
            assert http.get(f"{url}/users/me", headers=bearer(logged_in)).status_code == 200
        after = http.get(f"{url}/metrics")
        assert after.headers["content-type"].startswith("text/plain")
        for outcome in ("succeeded", "failed"):
            old, new = (metric(text, "logins_total", outcome=outcome) for text in (before, after.text))
            moved = new - old
            assert moved == 1, outcome
        assert metric(after.text, "http_requests_total", route="/auth/token", method="POST", status="200") >= 1
        assert metric(after.text, "http_request_duration_seconds_count", route="/auth/token") >= 2
        assert "nobody-here" not in after.text
        assert metric(after.text, "password_checks_limit") > 0
        if bake.service:  # the SQL user cache: the login read alice, so both reads of /users/me hit it
            hits = [metric(text, "user_cache_requests_total", result="hit") for text in (before, after.text)]
            assert hits[1] - hits[0] == 2
        other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=TIMEOUT)
        refused = other.get(f"{url}/metrics")
        assert refused.status_code == 404
    with bake.serve() as url:  # off by default
        assert http.get(f"{url}/metrics").status_code == 404


def test_metrics_add_up_across_two_workers(bake, tmp_path):
    if bake.package != "lite_service":
        pytest.skip("one backend is enough for the multiprocess sum")
    folder = tmp_path / "prometheus"
    folder.mkdir()
    port = free_port()
    command = [*uvicorn_command(bake.python, bake.package, port), "--workers", "2"]
    env = {**bake.env, "METRICS_ENABLED": "true", "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    with serve(command, bake.project, port, env) as url:
        time.sleep(1)  # both workers up
        before = metric(http.get(f"{url}/metrics").text, "http_requests_total", route="/health")
        for _ in range(40):  # a new connection each: the kernel spreads them over the workers
            assert httpx.get(f"{url}/health").status_code == 200
        after = metric(http.get(f"{url}/metrics").text, "http_requests_total", route="/health")
        assert len(list(folder.glob("gauge_livesum_*.db"))) == 2  # each live worker's gauges
    assert after - before == 40
    assert len({path.name.rsplit("_", 1)[-1] for path in folder.glob("counter_*.db")}) == 2  # both counted
    assert list(folder.glob("gauge_livesum_*.db")) == []  # the stopped workers left the live sums


@contextmanager
def database_locked(bake: Bake):
    """Another connection holds the write lock the login's throttling counters need."""
    url = bake.env["DATABASE_URL"]
    if bake.package == "lite_service":
        holder = sqlite3.connect(url.split(":///", 1)[1], timeout=1)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.rollback()
            holder.close()
    else:
        plain = url.replace("+asyncpg", "")
        sql = "BEGIN; LOCK TABLE login_throttle IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;"
        holder = subprocess.Popen(["psql", plain, "-c", sql], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        try:
            yield
        finally:
            holder.wait(timeout=30)


def test_a_5xx_names_its_request_id_and_the_outage_is_an_event(bake):
    if bake.service is None:
        pytest.skip("the fake DB cannot be unavailable")
    with bake.serve(LOG_FORMAT="json", DATABASE_TIMEOUT_SECONDS="0.5") as url:
        with database_locked(bake):
            answer = login(url, "alice", PASSWORD)
        assert answer.status_code == 503, answer.text
        assert answer.json()["request_id"] == answer.headers["x-request-id"]
        assert login(url, "alice", PASSWORD).status_code == 200  # and back
    outage = [line for line in bake.log_lines() if line.get("event") == "database.unavailable"]
    assert outage and outage[0]["request_id"] == answer.headers["x-request-id"]
    assert PASSWORD not in bake.log.read_text()


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector stub: keeps every body posted to /v1/traces."""

    bodies: ClassVar[list[bytes]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/v1/traces":
            Collector.bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_spans_of_a_login_and_a_mail_reach_an_otlp_collector(bake):
    """A login's request and SQL spans, and the SMTP span of a reset mail sent to a real SMTP
    server (aiosmtpd): none of them carries the password or the mail's address."""
    if bake.package != "lite_service":
        pytest.skip("one backend is enough for the exporter")
    run([bake.python, "-m", "pip", "install", "--quiet", "-e", ".[otel]"], cwd=bake.project)
    bake.service.command("users", "create", "carol", "--email", "carol@example.com", stdin=f"{PASSWORD}\n")
    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    Collector.bodies.clear()
    inbox, smtp_port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    mail = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_TLS": "none"}
    try:
        with bake.serve(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_BSP_SCHEDULE_DELAY="200", **mail) as url:
            assert login(url, "alice", PASSWORD).status_code == 200
            assert http.post(f"{url}/auth/password-reset", json={"email": "carol@example.com"}).status_code == 202
            assert len(inbox.wait_for("carol@example.com")) == 1
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(
                any(wanted in body for body in Collector.bodies) for wanted in (b"/auth/token", b"smtp send")
            ):
                time.sleep(0.2)
    finally:
        collector.shutdown()
        smtp.stop()
    sent = b"".join(Collector.bodies)
    assert b"POST /auth/token" in sent
    assert b"INSERT" in sent or b"SELECT" in sent  # SQLAlchemy's spans
    assert b"smtp send" in sent and b"server.address" in sent  # the SMTP span names its server
    assert PASSWORD.encode() not in sent and b"carol@example.com" not in sent


def test_prometheus_in_compose_has_its_rules(sql_projects):
    project = sql_projects["sqlite"]
    compose = (project / "compose.yaml").read_text()
    assert "prometheus" in compose and "profiles" in compose
    rules = project / "prometheus" / "rules.yml"
    assert rules.exists() and "refresh_reuse_detections_total" in rules.read_text()
    promtool = shutil.which("promtool")
    if promtool:
        run([promtool, "check", "rules", rules], cwd=project)
