"""The client address logins are counted by: the socket peer, or what a trusted proxy forwarded
(TRUSTED_PROXIES); a raw X-Forwarded-For from anyone else is ignored."""

import pytest
import uvicorn.config

from {{ cookiecutter.package_name }} import client_address
from {{ cookiecutter.package_name }}.client_address import client_address as address_of
from {{ cookiecutter.package_name }}.client_address import parse_networks
from {{ cookiecutter.package_name }}.settings import SettingsError, settings

from .conftest import client_at, login

PROXIES = parse_networks("10.0.0.0/8, 192.0.2.1")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", "", "203.0.113.5"),
        ("203.0.113.5", "198.51.100.7", "203.0.113.5"),  # not a proxy: its header is ignored
        ("192.0.2.1", "198.51.100.7", "198.51.100.7"),
        ("192.0.2.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the client wrote 6.6.6.6 itself
        ("192.0.2.1", "198.51.100.7, 10.1.2.3", "198.51.100.7"),  # through two proxies
        ("192.0.2.1", "10.9.9.9, 10.1.2.3", "10.9.9.9"),  # proxies all the way: the farthest
        ("192.0.2.1", "", "192.0.2.1"),
        ("192.0.2.1", "198.51.100.7:4711", "198.51.100.7"),
        ("192.0.2.1", "[2001:db8::1]:4711", "2001:db8::/64"),
        ("192.0.2.1", "unknown", "unknown"),
        ("192.0.2.1", "x" * 500, "x" * client_address.MAX_LENGTH),
        ("2001:db8:1:2:3:4:5:6", "", "2001:db8:1:2::/64"),  # one host holds its whole /64
        ("::ffff:203.0.113.5", "", "203.0.113.5"),
    ],
)
def test_the_rule(peer, forwarded, expected):
    assert address_of(peer, forwarded, PROXIES) == expected


def test_no_proxy_is_trusted_by_default():
    assert settings.trusted_proxies == ""
    assert address_of("127.0.0.1", "198.51.100.7") == "127.0.0.1"


def test_a_bad_trusted_proxies_setting_is_named():
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        parse_networks("10.0.0.0/8, not-an-address")


def test_a_forged_header_does_not_escape_the_count():
    """Each attempt claims another forwarded address; all count against the socket peer."""
    client = client_at("198.51.100.200")
    for number in range(settings.login_failures_per_user):
        forged = {"X-Forwarded-For": f"203.0.113.{number}"}
        response = client.post("/auth/token", data={"username": "alice", "password": "wrong"}, headers=forged)
        assert response.status_code == 401
    assert login(client).status_code == 429


def test_a_trusted_proxy_is_believed(monkeypatch):
    monkeypatch.setattr(client_address, "TRUSTED", parse_networks("198.51.100.201"))
    proxy = client_at("198.51.100.201")
    for _ in range(settings.login_failures_per_user):
        forwarded = {"X-Forwarded-For": "203.0.113.77"}
        response = proxy.post("/auth/token", data={"username": "alice", "password": "wrong"}, headers=forwarded)
        assert response.status_code == 401
    through = {"username": "alice", "password": "secret"}
    assert proxy.post("/auth/token", data=through, headers={"X-Forwarded-For": "203.0.113.77"}).status_code == 429
    assert proxy.post("/auth/token", data=through, headers={"X-Forwarded-For": "203.0.113.78"}).status_code == 200


def test_uvicorn_keeps_the_socket_peer():
    """Importing the app switched off uvicorn's own X-Forwarded-For handling (client_address.py)."""
    app = object()
    assert uvicorn.config.ProxyHeadersMiddleware(app, trusted_hosts="*") is app
