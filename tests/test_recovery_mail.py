"""Account recovery by e-mail on the SQL bakes (SQLite and PostgreSQL), served by uvicorn and
pointed at a real SMTP server in this process (aiosmtpd): the mails it receives per flow, a reset
link followed by headless Chromium to the service's own reset page, SMTP down and back, and no
token in any line of the service's log."""

import email
import email.policy
import re
import shutil
import threading
import time

import httpx
import pytest
from aiosmtpd.controller import Controller

from .chromium import CHROMIUM_ARGS, RECORD_CSP_VIOLATIONS
from .conftest import free_port
from .test_sql_service import PASSWORD, Service, login

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    sync_playwright = None

NO_BROWSER = sync_playwright is None or shutil.which("chromium") is None
TOKEN_IN_LINK = re.compile(r"#token=([A-Za-z0-9_-]+)")
NEW_PASSWORD = "a brand new passphrase"


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.arrived:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            self.arrived.notify_all()
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, count: int = 1, timeout: float = 30) -> list:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.to(address)) >= count, timeout)
        return self.to(address)


def token_of(message) -> str:
    return TOKEN_IN_LINK.search(message.get_body(("plain",)).get_content()).group(1)


@pytest.fixture
def service(backend, sql_projects, sql_python, database_url) -> Service:
    """A migrated SQL bake, as in test_sql_service.py."""
    service = Service(backend, sql_projects[backend], sql_python, database_url)
    service.command("migrate")
    return service


@pytest.fixture
def smtp():
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    smtp = type("Smtp", (), {"inbox": inbox, "port": port, "controller": controller})
    yield smtp
    smtp.controller.stop()


def mail_env(smtp, port: int) -> dict[str, str]:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_TLS": "none",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "REQUIRE_VERIFIED_EMAIL": "true",
    }


def test_reset_and_verification_over_smtp(service, smtp):
    service.create_alice()
    service.command("users", "create", "bob", "--email", "bob@example.com", "--verified", stdin=f"{PASSWORD}\n")
    port = free_port()
    with service.serve(port, **mail_env(smtp, port)) as url:
        # Verification: alice (unverified) is refused /items until she follows a link.
        alice = {"Authorization": f"Bearer {login(url).json()['access_token']}"}
        assert httpx.get(f"{url}/items", headers=alice).json()["error"] == "email_not_verified"
        bob = {"Authorization": f"Bearer {login(url, 'bob').json()['access_token']}"}
        assert httpx.get(f"{url}/items", headers=bob).status_code == 200  # made --verified
        assert httpx.post(f"{url}/auth/verify-email", headers=alice).status_code == 202
        (verification,) = smtp.inbox.wait_for("alice@example.com")
        confirm = httpx.post(f"{url}/auth/verify-email/confirm", json={"token": token_of(verification)})
        assert confirm.status_code == 204
        assert httpx.get(f"{url}/items", headers=alice).status_code == 200

        # Reset: a mail for alice, none for an unknown address, the same answer for both.
        old_session = login(url)
        known = httpx.post(f"{url}/auth/password-reset", json={"email": "alice@example.com"})
        unknown = httpx.post(f"{url}/auth/password-reset", json={"email": "nobody@example.com"})
        assert (known.status_code, known.content) == (unknown.status_code, unknown.content) == (202, known.content)
        first = token_of(smtp.inbox.wait_for("alice@example.com", 2)[-1])
        httpx.post(f"{url}/auth/password-reset", json={"email": "alice@example.com"})
        second = token_of(smtp.inbox.wait_for("alice@example.com", 3)[-1])
        voided = httpx.post(f"{url}/auth/password-reset/confirm", json={"token": first, "new_password": NEW_PASSWORD})
        assert voided.status_code == 400
        done = httpx.post(f"{url}/auth/password-reset/confirm", json={"token": second, "new_password": NEW_PASSWORD})
        assert done.status_code == 204
        again = httpx.post(f"{url}/auth/password-reset/confirm", json={"token": second, "new_password": PASSWORD})
        assert again.status_code == 400
        refresh = httpx.post(f"{url}/auth/refresh", cookies={"refresh_token": old_session.cookies["refresh_token"]})
        assert refresh.status_code == 401  # every session ended
        assert login(url).status_code == 401
        assert httpx.post(f"{url}/auth/token", data={"username": "alice", "password": NEW_PASSWORD}).status_code == 200

        # SMTP down: the request answers at once, the mail goes out once the server is back.
        smtp.controller.stop()
        started = time.perf_counter()
        assert httpx.post(f"{url}/auth/password-reset", json={"email": "bob@example.com"}).status_code == 202
        assert time.perf_counter() - started < 1
        time.sleep(3)
        assert smtp.inbox.to("bob@example.com") == []
        smtp.controller = Controller(smtp.inbox, hostname="127.0.0.1", port=smtp.port)
        smtp.controller.start()
        assert len(smtp.inbox.wait_for("bob@example.com")) == 1

    assert smtp.inbox.to("nobody@example.com") == []
    log = (service.project / f"server-{port}.log").read_text()
    assert "Could not send a mail to bob@example.com" in log
    tokens = [token_of(m) for m in smtp.inbox.messages]
    assert len(tokens) == 4  # alice: a verification and two resets; bob: one reset
    assert not [token for token in tokens if token in log]


@pytest.mark.skipif(NO_BROWSER, reason="needs Playwright's package and Debian's chromium (apt-get install chromium)")
def test_chromium_follows_the_mailed_link_and_sets_a_new_password(service, smtp):
    service.create_alice()
    port = free_port()
    with service.serve(port, **mail_env(smtp, port)) as url:
        assert httpx.post(f"{url}/auth/password-reset", json={"email": "alice@example.com"}).status_code == 202
        (mail,) = smtp.inbox.wait_for("alice@example.com")
        link = re.search(r'href="([^"]+)"', mail.get_body(("html",)).get_content()).group(1)
        assert link.startswith(f"{url}/reset-password#token=")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.add_init_script(RECORD_CSP_VIOLATIONS)
                page.goto(link)
                assert "#token" not in page.url  # the page takes the token out of the address bar
                page.fill("#password", NEW_PASSWORD)
                page.click("button[type=submit]")
                # expect() polls from outside the page: the CSP refuses wait_for_function's eval.
                expect(page.locator("#result")).to_have_text("Your password is set. Log in with it.", timeout=30_000)
                assert page.evaluate("window.cspViolations") == []
            finally:
                browser.close()
        # Two bcrypt checks on a machine that just ran Chromium: more than httpx's 5 s may pass.
        new = {"username": "alice", "password": NEW_PASSWORD}
        assert httpx.post(f"{url}/auth/token", data=new, timeout=60).status_code == 200
        old = {"username": "alice", "password": PASSWORD}
        assert httpx.post(f"{url}/auth/token", data=old, timeout=60).status_code == 401
