"""Which addresses the fetcher may connect to: IPv4 hidden in IPv6 is judged as IPv4."""

from __future__ import annotations

import pytest

from connectors.fetch import AddressGuard, FetchError


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "64:ff9b::7f00:1",  # NAT64 well-known prefix -> 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 -> 169.254.169.254, the cloud metadata address
        "2002:7f00:1::",  # 6to4 -> 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 -> 192.168.1.1
        "::127.0.0.1",  # IPv4-compatible
        "::10.0.0.1",
        "64:ff9b:1::a00:1",  # NAT64 local-use prefix
        "::1",
        "fe80::1",
    ],
)
def test_a_non_public_ipv4_inside_an_ipv6_address_is_refused(address: str) -> None:
    with pytest.raises(FetchError, match="not a public address") as refused:
        AddressGuard().resolve(address, 80)
    assert refused.value.permanent


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2a00:1450::1"]
)
def test_public_addresses_pass_however_written(address: str) -> None:
    assert AddressGuard().resolve(address, 443) == address


def test_an_allowed_network_is_allowed_in_any_form() -> None:
    assert AddressGuard(["64:ff9b::/96"]).resolve("64:ff9b::7f00:1", 80) == "64:ff9b::7f00:1"
