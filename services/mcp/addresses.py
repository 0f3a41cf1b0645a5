"""Where an MCP URL may lead: the platform must not become a proxy into the networks it can reach.

A user registers an MCP URL and the api connects to it from inside the platform's network, so a URL could point at
the instance metadata service (the api role's credentials), at the serve or api apps, at the emulator, or at any
private host. The rules:
- http(s) only, a host, no user:password in the URL (credentials go in the connection's secret headers);
- link-local addresses (169.254.0.0/16 with EC2/ECS metadata at 169.254.169.254 and 169.254.170.2, fe80::/10), AWS's
  IPv6 metadata address (fd00:ec2::254), unspecified, multicast and reserved addresses: never, whatever the settings;
- loopback, private (RFC 1918, fc00::/7), shared (100.64.0.0/10) and every other non-global address: only inside a
  network an admin opened with LISA_MCP_ALLOWED_NETWORKS;
- every public address: allowed.
The check runs on every address a connection actually dials (services/mcp/guarded_http.py), after DNS resolution,
so a hostname that resolves (or re-resolves) to a refused address is refused too; IPv4-mapped IPv6 addresses are
checked as the IPv4 address they carry.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv4Network, IPv6Network, ip_address, ip_network
from typing import Iterable
from urllib.parse import urlsplit

from core.errors import InvalidInputError

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address

NEVER = tuple(ip_network(n) for n in (
    "169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "0.0.0.0/8", "100.100.100.200/32",  # metadata services
    "224.0.0.0/4", "240.0.0.0/4", "ff00::/8", "::/128",
))
MAX_URL_CHARS = 2048


class AddressRefusedError(InvalidInputError):
    error = "AddressRefusedError"


def _normalized(address: Address) -> Address:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def refusal(address: str | Address, allowed: Iterable[Network] = ()) -> str | None:
    """Why the platform must not connect to this address, or None when it may."""
    ip = _normalized(ip_address(address) if isinstance(address, str) else address)
    if any(ip in n for n in NEVER) or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return f"{ip} is a link-local, metadata or reserved address, which MCP connections may never reach"
    if any(ip.version == n.version and ip in n for n in allowed):
        return None
    if not ip.is_global:
        return (f"{ip} is a private or loopback address; an admin must open its network "
                "(LISA_MCP_ALLOWED_NETWORKS) before MCP connections may reach it")
    return None


def checked_url(url: str, allowed: Iterable[Network] = ()) -> str:
    """The URL, if its form is acceptable and its host (when an IP literal) is reachable; else a 400."""
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise InvalidInputError(f"the URL is longer than {MAX_URL_CHARS} characters", param="url")
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number in range)
    except ValueError:
        raise InvalidInputError("the URL's port is not a number between 0 and 65535", param="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError("the URL must be http:// or https:// with a host", param="url")
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError("put credentials in the connection's headers, not in the URL", param="url")
    try:
        literal = ip_address(parts.hostname)
    except ValueError:
        return url  # a name: checked on every connection, once resolved
    reason = refusal(literal, allowed)
    if reason:
        raise AddressRefusedError(reason, param="url")
    return url
