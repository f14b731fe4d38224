"""The address a request comes from, as far as it can be known: the login throttle is keyed on it.

X-Forwarded-For is written by whoever sent the request, so it is believed only when the connection comes from a
configured proxy (`web.trusted_proxies`), and then only as far as the chain of trusted proxies goes: each proxy
appends the address it saw, so the right-most entry that is not one of ours is the client; anything to the left
of it came from the client and may be invented.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_ADDRESS_LENGTH = 64  # an address is stored in the audit trail; a proxy passing junk must not grow it


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _normalised(address: str) -> str:
    """One spelling per address (2001:DB8::1 and 2001:db8:0::1 are one client for the throttle)."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address[:MAX_ADDRESS_LENGTH]


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(connection: HTTPConnection, trusted_proxies: Sequence[Network]) -> str:
    peer = connection.client.host if connection.client else "unknown"
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return _normalised(peer)
    hops = [hop.strip() for header in connection.headers.getlist("x-forwarded-for") for hop in header.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            return _normalised(hop)
    # Every hop is one of our proxies (a request made from the proxy host itself): the left-most is the origin.
    return _normalised(hops[0] if hops else peer)
