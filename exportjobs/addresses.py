"""Which address a request comes from, and whether it comes through one of the desk's own proxies.

Kept apart from the middlewares (which need the rest of the desk) so that what only needs the address,
lock-outs and ``/metrics``, can ask without importing them.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.http import HttpRequest


@functools.lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(value) for value in values)  # checked at start-up (dashboard/settings.py)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 from a socket bound to [::] is 10.0.0.1
    return address


def from_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the connection itself (``REMOTE_ADDR``, which no client can choose) is one of ``TRUSTED_PROXIES``."""
    address = _address(str(request.META.get("REMOTE_ADDR") or ""))
    proxies: Sequence[str] = settings.TRUSTED_PROXIES
    return address is not None and any(address in network for network in _networks(tuple(proxies)))


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for lock-outs and ``/metrics``: on a connection from ``TRUSTED_PROXIES``, the
    ``X-Forwarded-For`` entry ``TRUSTED_PROXY_COUNT`` hops from its end; else (or when that entry is no
    address) the connection's own ``REMOTE_ADDR``."""
    address = request.META.get("REMOTE_ADDR")
    count = int(settings.TRUSTED_PROXY_COUNT)
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if count and forwarded and from_trusted_proxy(request):
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= count:
            hop = _address(hops[-count])
            if hop is not None:
                return str(hop)
    return str(address) if address else None
