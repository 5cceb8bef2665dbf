"""Which URLs `http.get` may fetch: the server-side request forgery policy, without I/O.

A URL is fetched only if it is http(s), carries no credentials, and EVERY address its host
resolves to is a public unicast address — so a name that resolves to a private, loopback,
link-local (cloud metadata at 169.254.169.254), multicast, reserved or unspecified address
is refused, as is an IPv6 address mapping or embedding one. The allow-list (hostnames,
addresses or networks in CIDR form) lets an operator open specific internal targets.
The caller connects to an address it checked here, never re-resolving the name, so a DNS
answer that changes between check and connect (rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, urlsplit

__all__ = ["AllowList", "RefusedTarget", "TargetUrl", "check_address", "parse_target"]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMES: Final = {"http": 80, "https": 443}


class RefusedTarget(ValueError):
    """The URL or one of its addresses is not allowed."""


@dataclass(frozen=True)
class TargetUrl:
    scheme: str
    host: str
    """Lower-case host name or address literal (IPv6 without brackets)."""
    port: int
    path_and_query: str

    @property
    def literal(self) -> IpAddress | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


class AllowList:
    """Hosts and networks that may be fetched even when they are not public."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self._hosts: set[str] = set()
        self._networks: list[IpNetwork] = []
        for entry in entries:
            entry = entry.strip().lower()
            if not entry:
                continue
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._hosts.add(entry.rstrip("."))

    def allows_host(self, host: str) -> bool:
        return host.rstrip(".") in self._hosts

    def allows_address(self, address: IpAddress) -> bool:
        return any(address in network for network in self._networks)


def _unmapped(address: IpAddress) -> IpAddress:
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in (address.ipv4_mapped, address.sixtofour):
            if embedded is not None:
                return embedded
        if address.teredo is not None:
            return address.teredo[1]
    return address


def _why_not_public(address: IpAddress) -> str | None:
    address = _unmapped(address)
    checks = (
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_unspecified, "unspecified"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not globally routable"),
    )
    return next((reason for refused, reason in checks if refused), None)


def check_address(address: IpAddress, host: str, allow: AllowList) -> None:
    """Raise `RefusedTarget` unless `address` (one that `host` resolved to) may be fetched."""
    if allow.allows_host(host) or allow.allows_address(address):
        return
    reason = _why_not_public(address)
    if reason is not None:
        raise RefusedTarget(f"{host} resolves to {address}, a {reason} address")


def parse_target(url: str) -> TargetUrl:
    """Split `url` into what the fetcher needs; refuse anything but plain http(s)."""
    try:
        parts: SplitResult = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise RefusedTarget(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise RefusedTarget(f"only http and https URLs may be fetched, not {scheme or 'none'!r}")
    if parts.username is not None or parts.password is not None:
        raise RefusedTarget("URLs with credentials are refused")
    host = (parts.hostname or "").lower()
    if not host:
        raise RefusedTarget("the URL has no host")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return TargetUrl(scheme, host, port or _SCHEMES[scheme], path)
