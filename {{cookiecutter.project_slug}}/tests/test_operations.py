"""Operating it: request ids, the audit trail as GET /audit-events shows it, the JSON log format.
(The template's own tests serve the app with uvicorn for the rest: metrics, workers, traces.)"""

import json
import logging

import pytest

from {{ cookiecutter.package_name }}.logs import JsonFormatter
from {{ cookiecutter.package_name }}.request_context import RequestContext, current

from .conftest import ALICE, admin_token, login

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def test_every_answer_has_a_request_id_and_an_untrusted_one_is_replaced(client):
    first, second = client.get("/health"), client.get("/health", headers={"X-Request-ID": "chosen-by-anyone"})
    assert len(first.headers["x-request-id"]) == 32
    assert second.headers["x-request-id"] not in (first.headers["x-request-id"], "chosen-by-anyone")


def test_a_failed_login_is_one_event_with_its_request_id_and_no_password(client):
    failed = login(client, ALICE[0], "not the password")
    assert failed.status_code == 401
    page = client.get("/audit-events", params={"event": "login.failed", "user": ALICE[0]}, headers=admin_token())
    assert page.status_code == 200, page.text
    [event] = [e for e in page.json()["events"] if e["request_id"] == failed.headers["x-request-id"]]
    assert event["subject_name"] == ALICE[0] and event["outcome"] == "failure" and event["actor_id"] is None
    assert event["address"] == client._transport.client[0]
    assert "not the password" not in page.text


def test_audit_event_filters_are_checked(client):
    for params in ({"event": "no.such.event"}, {"since": "yesterday"}, {"limit": "0"}):
        assert client.get("/audit-events", params=params, headers=admin_token()).status_code == 422


def test_json_log_lines_carry_the_request_id_and_their_fields():
    token = current.set(RequestContext("an-id", "10.0.0.1", ""))
    try:
        record = logging.makeLogRecord({"msg": "hello %s", "args": ("there",), "name": "x", "event": "e"})
        line = json.loads(JsonFormatter().format(record))
    finally:
        current.reset(token)
    assert line["message"] == "hello there" and line["request_id"] == "an-id" and line["event"] == "e"
