"""Where webhooks may go: public internet addresses, plus the internal receivers the operator
names in CUSTOMER_CREDIT_WEBHOOK_ALLOWED_HOSTS. A URL is checked when it is registered and
again at every delivery, on every address its host resolves to (which also turns odd spellings
such as http://2130706433/ or http://0x7f.1/ into the address they mean); the delivery then
connects to those checked addresses only, so a DNS answer that changes in between (rebinding)
cannot send it elsewhere."""

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the last 32 bits are an IPv4 address
DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidWebhookUrl(ValueError):
    """The URL cannot be a webhook destination whatever it resolves to."""


class HostUnresolved(Exception):
    """The host name has no address (or the lookup failed)."""


class DestinationRefused(Exception):
    """The host is, or resolves to, an address webhooks may not reach."""


@dataclass(frozen=True)
class AllowList:
    """The operator's exceptions: host names (exact, case-insensitive) whose addresses are all
    allowed, and networks whose addresses are allowed whatever name led to them."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    def allows_name(self, host: str) -> bool:
        return _normal_name(host) in self.names

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def _normal_name(host: str) -> str:
    return host.lower().rstrip(".")


@lru_cache(maxsize=16)
def parse_allow_list(raw: str) -> AllowList:
    """'erp.internal, 10.1.2.0/24, 127.0.0.1, ::1' → names and networks; ValueError on a typo."""
    names, networks = set(), []
    for entry in (item.strip() for item in raw.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            if "/" in entry or ":" in entry:
                raise ValueError(
                    f"webhook allowed hosts: {entry!r} is not an IP address or network"
                ) from None
        name = _normal_name(entry)
        if not _HOST_NAME.fullmatch(name):
            raise ValueError(f"webhook allowed hosts: {entry!r} is not a host name, IP address or network")
        names.add(name)
    return AllowList(frozenset(names), tuple(networks))


def allow_list(settings) -> AllowList:
    return parse_allow_list(settings.webhook_allowed_hosts)


def _stands_for_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches in effect: IPv4-mapped (::ffff:a.b.c.d) or NAT64."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _tunnels_to_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 end of a 6to4 or Teredo address (the IPv6 address must be public as well)."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address. `is_global` alone lets multicast through, and an
    IPv6 address can carry an internal IPv4 one."""
    if isinstance(address, ipaddress.IPv6Address):
        stands_for = _stands_for_ipv4(address)
        if stands_for is not None:
            return is_public(stands_for)
        tunnel_end = _tunnels_to_ipv4(address)
        if (tunnel_end is not None and not is_public(tunnel_end)) or address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


@dataclass(frozen=True)
class Destination:
    """A webhook URL taken apart, with the checked addresses to connect to."""

    scheme: str
    host: str  # as written in the URL: the Host header and the TLS name
    port: int
    target: str  # path and query
    addresses: tuple[tuple[int, tuple], ...] = ()  # (family, sockaddr), in the resolver's order


def parse_url(url: str) -> Destination:
    """The parts of a webhook URL, without resolving it."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        raise InvalidWebhookUrl("must be an absolute http or https URL")
    if "@" in parts.netloc:
        raise InvalidWebhookUrl("must not contain a user name or password")
    try:
        port = parts.port
    except ValueError:
        raise InvalidWebhookUrl("has an invalid port") from None
    if not parts.hostname or port == 0:
        raise InvalidWebhookUrl("must name a host (and a port from 1 to 65535)")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme], target)


def resolve(host: str, port: int) -> tuple[tuple[int, tuple], ...]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise HostUnresolved(host) from None
    unique = tuple(dict.fromkeys((family, sockaddr) for family, _type, _proto, _name, sockaddr in found))
    if not unique:
        raise HostUnresolved(host)
    return unique


def _address_of(sockaddr: tuple) -> IPAddress:
    return ipaddress.ip_address(sockaddr[0].split("%", 1)[0])


def checked_destination(url: str, allowed: AllowList) -> Destination:
    """The URL's destination with every address its host resolves to, each public or allowed
    by the operator; raises InvalidWebhookUrl, HostUnresolved or DestinationRefused."""
    destination = parse_url(url)
    addresses = resolve(destination.host, destination.port)
    if not allowed.allows_name(destination.host):
        refused = [
            address
            for address in (_address_of(sockaddr) for _family, sockaddr in addresses)
            if not (is_public(address) or allowed.allows_address(address))
        ]
        if refused:
            raise DestinationRefused(
                f"{destination.host} resolves to {refused[0]}, which is not a public address"
            )
    return Destination(destination.scheme, destination.host, destination.port, destination.target, addresses)
