"""The OpenAPI document against the service, by a fuzzer: schemathesis reads the PostgreSQL bake's
/openapi.json, generates requests that the document calls valid and invalid, sends them over HTTP
to the bake served by uvicorn with an admin's token, and runs every check it has (documented
statuses, content types and bodies, valid data accepted, invalid data refused, 405 for methods a
path does not take, ...). Any failure means the document and the service disagree."""

import re
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import run
from .test_sql_service import PASSWORD, Service

# Examples per operation: enough to reach every operation's bounds, small enough for a couple of
# minutes on two cores (every accepted new password costs a bcrypt hash of about 0.2 s).
MAX_EXAMPLES = 10
SEED = 1  # a failure is reproducible with the same seed
# 413 counts as a refusal of invalid data and as an answer to valid data: the body limit
# (MAX_BODY_BYTES, documented as 413 on every route that reads a body) counts bytes, which no
# schema word can state: a valid body of long non-ASCII strings can exceed it. The other statuses
# are schemathesis's defaults.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]

[checks.positive_data_acceptance]
# 400: a reset or verification token the fuzzer cannot know (it has the right shape, not a valid value).
expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "413", "429", "5xx"]
"""


@pytest.fixture
def service(backend, sql_projects, sql_python, database_url) -> Service:
    """The bake migrated, with an admin made as the README says (`users create --admin`)."""
    service = Service(backend, sql_projects[backend], sql_python, database_url)
    service.command("migrate")
    service.command("users", "create", "root", "--admin", stdin=f"{PASSWORD}\n")
    return service


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_schemathesis_finds_no_difference_between_the_document_and_the_service(backend, service, tmp_path):
    # Sign-up on, so that it is tested too; the throttle's refusals at once, not after a second each.
    with service.serve(ALLOW_SIGNUP="true", LOGIN_REFUSAL_DELAY_SECONDS="0") as url:
        login = httpx.post(f"{url}/auth/token", data={"username": "root", "password": PASSWORD})
        token = login.json()["access_token"]
        assert login.json()["scope"] == "me items admin"
        config = tmp_path / "schemathesis.toml"
        config.write_text(CONFIG)
        command = [
            Path(sys.executable).parent / "schemathesis",
            f"--config-file={config}",
            "run",
            f"{url}/openapi.json",
            "--checks=all",
            "--header",
            f"Authorization: Bearer {token}",
            f"--max-examples={MAX_EXAMPLES}",
            f"--seed={SEED}",
            "--generation-database=none",  # nothing kept between runs, nothing written
            # It ends every session of the user it names, the admin's own too, as it should: the
            # token could run nothing after it (tested in test_security_review.py instead).
            "--exclude-operation-id=end_user_sessions",
            "--no-color",
        ]
        result = run(command, cwd=tmp_path, timeout=300, check=False)
    # Nothing the fuzzer sent locked the admin out: root is still enabled and still an admin. (Its
    # token may have ended: taking any scope of one's own away ends one's sessions, by design.)
    [root] = [line.split() for line in service.command("users", "list").stdout.splitlines() if line.startswith("root ")]
    assert "admin" in root and "active" in root, root
    summary = result.stdout[result.stdout.find("SUMMARY") :]
    assert result.returncode == 0, result.stdout
    assert re.search(r"\d+ generated, \d+ passed", summary), summary
    assert "failures" not in summary.lower(), summary
