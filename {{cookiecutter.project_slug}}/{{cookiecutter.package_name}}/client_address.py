"""The client address that login throttling counts by (TRUSTED_PROXIES).

It is the socket peer. Only when the peer is a trusted proxy is X-Forwarded-For believed: read
from the right, each proxy appends the address it received from, so the first address that is
not a trusted proxy is the client. Anyone else can write any X-Forwarded-For they like, so from
them it is ignored. IPv6 clients count by their /64: one host usually holds the whole network.

uvicorn rewrites the socket peer from X-Forwarded-For itself, before the app sees the request,
for the peers of --forwarded-allow-ips (127.0.0.1 unless told otherwise), and the peer is then
lost. `keep_socket_peer()` switches that off, so TRUSTED_PROXIES alone decides, however the app
is served: `python -m` (and so the container), plain `uvicorn`, or gunicorn's uvicorn workers.
"""

import ipaddress

import uvicorn.config
from FasterAPI import Request

from .settings import SettingsError, settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Longest address kept from a forwarded value that is not an IP address (a proxy's "unknown").
MAX_LENGTH = 64


def parse_networks(value: str) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip())
    except ValueError as exc:
        raise SettingsError(f"Invalid setting TRUSTED_PROXIES: {exc}") from None


TRUSTED = parse_networks(settings.trusted_proxies)


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("["):  # [v6]:port
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # v4:port
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def is_trusted(value: str, trusted: tuple[Network, ...]) -> bool:
    address = parse_ip(value)
    return address is not None and any(address in network for network in trusted)


def client_address(peer: str, forwarded_for: str, trusted: tuple[Network, ...] | None = None) -> str:
    """The address to count by, from the socket peer and the X-Forwarded-For header."""
    trusted = TRUSTED if trusted is None else trusted
    client = peer
    if is_trusted(peer, trusted):
        hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
        while hops and is_trusted(client, trusted):
            client = hops.pop()
    address = parse_ip(client)
    if address is None:
        return client.strip()[:MAX_LENGTH]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def of_request(request: Request) -> str:
    # Of several X-Forwarded-For lines the framework keeps the last: the one the nearest proxy
    # wrote to. Should all of it be trusted proxies, the client is counted as a proxy: no client
    # gains from that.
    peer = request.client[0] if request.client else ""
    return client_address(peer, request.headers.get("x-forwarded-for", ""))


def keep_socket_peer() -> None:
    """Stop uvicorn from replacing the socket peer with X-Forwarded-For (see above). uvicorn
    wraps the app in that middleware after importing it, so this runs at import of main.py."""
    if hasattr(uvicorn.config, "ProxyHeadersMiddleware"):
        uvicorn.config.ProxyHeadersMiddleware = lambda app, **_options: app
