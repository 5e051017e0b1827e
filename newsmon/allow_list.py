"""The fetch allow-list (NEWSMON_FETCH_ALLOW): networks, or one port on one address."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class AllowList:
    """Parsed entries: networks (`10.0.0.0/8`, `127.0.0.1`) and address:port pairs."""

    networks: tuple[IPNetwork, ...]
    ports: frozenset[tuple[IPAddress, int]]


def parse_allow_list(entries: Sequence[str]) -> AllowList:
    """Parse allow-list entries; a bad entry raises ValueError naming it."""
    networks: list[IPNetwork] = []
    ports: set[tuple[IPAddress, int]] = set()
    for entry in entries:
        host, _, port = entry.rpartition(":") if entry.count(":") == 1 else ("", "", "")
        if host and port.isdigit():
            ports.add((ipaddress.ip_address(host), int(port)))
        else:
            networks.append(ipaddress.ip_network(entry, strict=False))
    return AllowList(tuple(networks), frozenset(ports))
