from __future__ import annotations

import ipaddress

import pytest

from pulse_agent_adapter.domain.ssrf import AllowList, RefusedTarget, check_address, parse_target


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not globally routable"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("fc00::1", "private"),
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    with pytest.raises(RefusedTarget, match=reason):
        check_address(ipaddress.ip_address(address), "example.test", AllowList())


def test_public_addresses_pass() -> None:
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "1.1.1.1"):
        check_address(ipaddress.ip_address(address), "example.test", AllowList())


def test_the_allow_list_opens_hosts_and_networks() -> None:
    allow = AllowList(["127.0.0.1/32", "Internal.Example.", "10.0.0.0/8", " "])
    check_address(ipaddress.ip_address("127.0.0.1"), "localhost", allow)
    check_address(ipaddress.ip_address("10.9.9.9"), "whatever", allow)
    check_address(ipaddress.ip_address("192.168.0.1"), "internal.example", allow)
    with pytest.raises(RefusedTarget):
        check_address(ipaddress.ip_address("127.0.0.2"), "localhost", allow)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http://user:pw@example.com/", "credentials"),
        ("http:///nohost", "no host"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_urls_that_are_refused_before_any_lookup(url: str, problem: str) -> None:
    with pytest.raises(RefusedTarget, match=problem):
        parse_target(url)


def test_targets_are_parsed() -> None:
    target = parse_target("HTTPS://Example.COM/a/b?q=1#frag")
    assert (target.scheme, target.host, target.port, target.path_and_query) == (
        "https",
        "example.com",
        443,
        "/a/b?q=1",
    )
    v6 = parse_target("http://[::1]:8080")
    assert v6.host == "::1"
    assert v6.port == 8080
    assert v6.literal == ipaddress.ip_address("::1")
