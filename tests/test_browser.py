"""The default project served by uvicorn and used from headless Chromium (Debian's package, driven
by Playwright): the docs page with nothing but the service's origin, the Authorize dialog and
"Try it out", the README's browser snippet, and another site trying to use the refresh cookie.

Chromium starts once for the module (a fresh profile: Playwright's own temporary one); each test
gets a new browser context, so an empty cookie jar. Without Chromium the tests are skipped, or
fail under CI=true. The screenshot of the docs after "Try it out" is written to test-artifacts/.
"""

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest

from .chromium import CHROMIUM_ARGS, RECORD_CSP_VIOLATIONS
from .conftest import TEMPLATE_DIR, free_port, serve, uvicorn_command

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
except ImportError:  # checked below, with a message that says what to install
    sync_playwright = None
else:
    expect.set_options(timeout=15_000)  # 5 s by default: short on a busy 2-core machine

ARTIFACTS = TEMPLATE_DIR / "test-artifacts"


def browser_problem() -> str | None:
    if sync_playwright is None:
        return "Playwright's Python package is missing: pip install -r requirements-dev.txt"
    if shutil.which("chromium") is None:
        return "Chromium is missing: apt-get install chromium (scripts/test.sh does it when run as root)"
    return None


PROBLEM = browser_problem()
if PROBLEM and os.environ.get("CI") != "true":
    pytest.skip(PROBLEM, allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    if PROBLEM:  # under CI: a run without its browser tests is no pass
        pytest.fail(f"the browser tests cannot run: {PROBLEM}")
    # Debian's Chromium, never a browser Playwright would download.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def base_url(service_python, default_project) -> Iterator[str]:
    # Served from the project folder as `make run` does: its .env says COOKIE_SECURE=false.
    port = free_port()
    with serve(uvicorn_command(service_python, "my_service", port), default_project, port) as url:
        yield url


@pytest.fixture
def context(browser) -> Iterator["BrowserContext"]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def origin(url: str) -> tuple[str, str]:
    return urlsplit(url)[:2]


def refresh_cookie(context: "BrowserContext") -> dict | None:
    found = [cookie for cookie in context.cookies() if cookie["name"] == "refresh_token"]
    return found[0] if found else None


# ---- /docs ----------------------------------------------------------------------------------


@dataclass
class Docs:
    """/docs open in a page with every request to another origin refused, console errors and CSP
    violations recorded."""

    page: "Page"
    elsewhere: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.elsewhere == [], "the docs page asked another origin"
        assert self.errors == []
        assert self.page.evaluate("window.cspViolations") == []


@pytest.fixture
def docs(context, base_url) -> Docs:
    docs = Docs(context.new_page())

    def only_the_service(route) -> None:
        if origin(route.request.url) == origin(base_url):
            route.continue_()
        else:
            docs.elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_service)
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    docs.page.on("console", lambda message: message.type == "error" and docs.errors.append(message.text))
    docs.page.on("pageerror", lambda error: docs.errors.append(str(error)))
    docs.page.goto(f"{base_url}/docs")
    return docs


def test_the_docs_render_every_operation_from_the_service_alone(docs, base_url):
    spec = httpx.get(f"{base_url}/openapi.json").json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    expect(docs.page.locator(".opblock").first).to_be_visible()
    shown = docs.page.locator(".opblock-summary").evaluate_all(
        "blocks => blocks.map(b => [b.querySelector('.opblock-summary-method').textContent,"
        " b.querySelector('.opblock-summary-path').dataset.path])"
    )
    assert {tuple(operation) for operation in shown} == documented
    assert docs.page.evaluate("window.versions.swaggerUI.version").startswith("5.")
    docs.assert_clean()


def test_authorize_then_try_it_out_on_users_me(docs, base_url):
    page = docs.page
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".dialog-ux")
    # The dialog lists every scope the document advertises, with its description.
    scopes = httpx.get(f"{base_url}/openapi.json").json()["components"]["securitySchemes"]
    [advertised] = [scheme["flows"]["password"]["scopes"] for scheme in scopes.values()]
    assert {"me", "items", "admin"} <= set(advertised)
    for name, description in advertised.items():
        expect(dialog).to_contain_text(name)
        expect(dialog).to_contain_text(description)
    dialog.locator("#oauth_username").fill("alice")
    dialog.locator("#oauth_password").fill("secret")
    dialog.get_by_text("select all").click()  # alice may have me and items: she gets those
    with page.expect_response("**/auth/token") as login:
        dialog.locator("button", has_text="Authorize").click()
    assert login.value.status == 200
    assert set(login.value.json()["scope"].split()) == {"me", "items"}
    expect(dialog.locator("button", has_text="Logout")).to_be_visible()  # the token was accepted
    dialog.locator("button", has_text="Close").click()

    operation = page.locator(".opblock.opblock-get", has=page.locator('[data-path="/users/me"]'))
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_request("**/users/me") as sent:
        operation.get_by_role("button", name="Execute").click()
    assert sent.value.headers["authorization"].startswith("Bearer ey")

    answer = operation.locator(".live-responses-table tbody")
    expect(answer.locator(".response-col_status")).to_have_text("200")
    expect(answer.locator(".response-col_description")).to_contain_text('"username": "alice"')
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "docs-try-it-out.png", full_page=True)
    docs.assert_clean()


# ---- The README's browser snippet ---------------------------------------------------------------


@pytest.fixture
def app_page(context, base_url, default_project) -> "Page":
    """A page of a browser app on the service's origin, under the service's own
    Content-Security-Policy, whose script is the README's ```js block, as written."""
    [snippet] = re.findall(r"```js\n(.*?)```", (default_project / "docs" / "browser.md").read_text(), flags=re.DOTALL)
    policy = httpx.get(f"{base_url}/health").headers["content-security-policy"]
    page_html = (
        '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script src="/app/auth.js"></script>'
    )
    headers = {"Content-Type": "text/html", "Content-Security-Policy": policy}
    context.route(f"{base_url}/app/", lambda route: route.fulfill(body=page_html, headers=headers))
    context.route(f"{base_url}/app/auth.js", lambda route: route.fulfill(body=snippet, content_type="text/javascript"))
    page = context.new_page()
    page.goto(f"{base_url}/app/")
    return page


def test_the_readme_snippet_logs_in_calls_refreshes_and_logs_out(app_page, context):
    def scripts_see_no_refresh_token() -> None:
        assert "refresh_token" not in app_page.evaluate("document.cookie")

    app_page.evaluate("login('alice', 'secret')")
    cookie = refresh_cookie(context)
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/auth")
    assert app_page.evaluate("accessToken").startswith("ey")
    assert app_page.evaluate("localStorage.length") == 0  # the access token lives in memory only
    scripts_see_no_refresh_token()

    assert app_page.evaluate("api('/users/me')")["username"] == "alice"
    # A rejected access token: api() refreshes once (the cookie's token is spent and replaced) and retries.
    app_page.evaluate("accessToken = 'expired'")
    assert app_page.evaluate("api('/items')") == [{"name": "Widget", "owner": "alice"}]
    assert app_page.evaluate("accessToken") != "expired"
    assert refresh_cookie(context)["value"] != cookie["value"]
    scripts_see_no_refresh_token()

    rotated = refresh_cookie(context)
    app_page.evaluate("refresh()")
    assert refresh_cookie(context)["value"] != rotated["value"]
    scripts_see_no_refresh_token()

    last = refresh_cookie(context)
    assert app_page.evaluate("logout().then(response => response.status)") == 204
    assert refresh_cookie(context) is None  # cleared
    assert app_page.evaluate("refresh().then(() => 'refreshed', error => error.message)") == "log in again"
    context.add_cookies([last])  # and revoked: the last cookie, put back, is refused too
    assert app_page.evaluate("refresh().then(() => 'refreshed', error => error.message)") == "log in again"


# ---- Another site ------------------------------------------------------------------------------

# Posts to the URL in its query string with the browser's cookies, then shows what it could read.
OTHER_SITE_PAGE = b"""<!doctype html><title>pending</title><link rel="icon" href="data:,">
<script>
fetch(new URLSearchParams(location.search).get("target"), { method: "POST", credentials: "include" })
  .then((response) => response.text().then((text) => { document.title = `read ${response.status} ${text}`; }))
  .catch((error) => { document.title = `nothing: ${error.message}`; });
</script>
"""


@pytest.fixture(scope="module")
def other_site_port() -> Iterator[int]:
    class OtherSite(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(OTHER_SITE_PAGE)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), OtherSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


class WhatChromiumSent:
    """For each request of a page, from Chromium's DevTools protocol: the headers really sent, the
    cookies held back (with why) and the status that came back, even when CORS hides the answer
    from the page (Playwright's own events do not show those)."""

    def __init__(self, context: "BrowserContext", page: "Page") -> None:
        self.page = page
        self.urls, self.sent, self.statuses = {}, {}, {}
        session = context.new_cdp_session(page)
        session.send("Network.enable")
        session.on("Network.requestWillBeSent", self.request_will_be_sent)
        session.on("Network.requestWillBeSentExtraInfo", self.sent_headers)
        session.on("Network.responseReceivedExtraInfo", self.answer)

    def request_will_be_sent(self, event: dict) -> None:
        self.urls[event["requestId"]] = event["request"]["url"]

    def sent_headers(self, event: dict) -> None:
        headers = {name.lower(): value for name, value in event["headers"].items()}
        held_back = {c["cookie"]["name"]: c["blockedReasons"] for c in event["associatedCookies"]}
        self.sent[event["requestId"]] = (headers, held_back)

    def answer(self, event: dict) -> None:
        self.statuses[event["requestId"]] = event["statusCode"]

    def to(self, url: str) -> tuple[dict, dict, int]:
        """(headers sent, cookies held back, status) of the request to url. The events come in any
        order, and may trail the page by a moment."""
        for _ in range(50):
            for request, sent_to in self.urls.items():
                if sent_to == url and request in self.sent and request in self.statuses:
                    return (*self.sent[request], self.statuses[request])
            self.page.wait_for_timeout(100)
        pytest.fail(f"Chromium reported no complete request to {url}")


@pytest.mark.parametrize(
    "other_host",
    [
        # Another site: SameSite=Strict keeps the cookie at home.
        pytest.param("localhost", id="cross-site"),
        # Same site (cookies ignore ports), other origin: the cookie goes, the Origin check refuses.
        pytest.param("127.0.0.1", id="same-site-other-origin"),
    ],
)
def test_another_origin_gets_nothing_from_the_refresh_cookie(context, base_url, other_site_port, other_host):
    login = context.request.post(f"{base_url}/auth/token", form={"username": "alice", "password": "secret"})
    assert login.status == 200  # the context's cookie jar now holds the refresh cookie
    cookie = refresh_cookie(context)

    page = context.new_page()
    chromium = WhatChromiumSent(context, page)
    target = f"{base_url}/auth/refresh"
    page.goto(f"http://{other_host}:{other_site_port}/?target={target}")
    expect(page).not_to_have_title("pending")
    assert page.title().startswith("nothing:"), page.title()  # the page reads no answer at all

    headers, held_back, status = chromium.to(target)
    if other_host == "localhost":
        assert "refresh_token" not in headers.get("cookie", "")
        assert any("SameSiteStrict" in reason for reason in held_back["refresh_token"])
        assert status in (401, 403)
    else:
        assert "refresh_token=" in headers["cookie"]
        assert status == 403

    # The session is intact: the same cookie, and it still refreshes.
    assert refresh_cookie(context) == cookie
    assert context.request.post(target).status == 200
