"""/docs: a page that loads only files the service itself serves, from this package's swagger_ui/
folder, which holds exactly the Swagger UI release its README.md records."""

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

import {{ cookiecutter.package_name }}

SWAGGER_UI = Path({{ cookiecutter.package_name }}.__file__).parent / "swagger_ui"
BASE = "https://testserver"  # the test client's origin (conftest.py)
# Attributes through which a page loads or sends something.
URL_ATTRIBUTES = {"src", "href", "action", "formaction", "srcset", "poster", "data"}


class PageParts(HTMLParser):
    """The URLs a page refers to, its inline scripts and its inline event handlers or styles."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (tag, url)
        self.inline: list[str] = []
        self.in_script = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value is not None:
                self.urls.append((tag, value))
            elif name.startswith("on") or name == "style":
                self.inline.append(f"<{tag} {name}=...>")
        self.in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and data.strip():
            self.inline.append(data)


@pytest.fixture
def page(client) -> PageParts:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return PageParts(response.text)


def test_the_page_refers_only_to_its_own_origin(page):
    assert {tag for tag, _ in page.urls} == {"link", "script"}
    for tag, url in page.urls:
        absolute = urljoin(f"{BASE}/docs", url)
        assert urlsplit(absolute)[:2] == urlsplit(BASE)[:2], f"<{tag}> loads {url} from elsewhere"


def test_the_page_has_no_inline_script_or_style(page):
    assert page.inline == []


EXPECTED_TYPES = {"link": ("text/css", "image/png"), "script": ("text/javascript",)}


def test_every_file_the_page_refers_to_is_served(client, page):
    for tag, url in page.urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].split(";")[0] in EXPECTED_TYPES[tag], url
        # The URL names the content, so the file may be kept for good.
        assert f"v={hashlib.sha256(response.content).hexdigest()[:16]}" in url
        assert "immutable" in response.headers["cache-control"]


def test_the_page_starts_swagger_ui_on_the_served_document(client, page):
    scripts = [client.get(url).text for tag, url in page.urls if tag == "script"]
    [start] = [script for script in scripts if "SwaggerUIBundle({" in script]
    [document_url] = re.findall(r'url: "([^"]+)"', start)
    assert client.get(document_url).json()["openapi"].startswith("3.")


def recorded() -> tuple[str, dict[str, str]]:
    """The version and the sha256 of each file that swagger_ui/README.md records."""
    readme = (SWAGGER_UI / "README.md").read_text()
    version = re.search(r"^# Swagger UI (\S+)$", readme, re.MULTILINE).group(1)
    checksums = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.MULTILINE))
    return version, checksums


def test_the_files_are_the_release_the_readme_records():
    version, checksums = recorded()
    on_disk = {path.name for path in SWAGGER_UI.iterdir()} - {"README.md"}
    assert set(checksums) == on_disk
    for name, digest in checksums.items():
        assert hashlib.sha256((SWAGGER_UI / name).read_bytes()).hexdigest() == digest, f"{name} was changed"
    assert version.startswith("5.")
    assert f'PACKAGE_VERSION:"{version}"' in (SWAGGER_UI / "swagger-ui-bundle.js").read_text()
    assert "Apache License" in (SWAGGER_UI / "LICENSE").read_text()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/docs/README.md"),
        ("get", "/docs/LICENSE"),
        ("get", "/docs/swagger_ui/swagger-ui.css"),
        ("get", "/docs/..%2F..%2Fsettings.py"),
        ("get", "/docs/swagger-ui-bundle.js/more"),
        ("post", "/docs"),
        ("post", "/docs/start.js"),
    ],
)
def test_nothing_else_under_docs_is_served(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code in (404, 405), (path, response.status_code)
