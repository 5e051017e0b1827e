"""The fetcher against a real HTTP server on loopback: safety, caps, validators, politeness."""

from __future__ import annotations

import gzip
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peers import Site, http_site, self_signed_cert

from connectors.fetch import AddressGuard, Fetcher, FetchError
from newsmon.compose import fetch_config
from newsmon.settings import Settings

pytestmark = pytest.mark.integration

FEED = "<?xml version='1.0' encoding='utf-8'?><rss><channel><title>أخبار</title></channel></rss>"


@pytest.fixture
def site() -> Iterator[Site]:
    with http_site() as running:
        running.routes["/robots.txt"] = (200, {}, b"User-agent: *\nDisallow: /private\n")
        yield running


def _fetcher(site: Site, **extra: Any) -> Fetcher:
    values: dict[str, Any] = {"fetch_allow": (f"127.0.0.1:{site.port}",), "fetch_host_delay": 0}
    return Fetcher(fetch_config(Settings(**{**values, **extra})))


def _error(fetcher: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetcher.get(url)
    return caught.value


def test_private_and_metadata_addresses_are_refused_unless_allowed(site: Site) -> None:
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, FEED.encode())
    default = Fetcher(fetch_config(Settings(fetch_host_delay=0)))
    for url in (
        f"{site.url}/feed",
        f"http://localhost:{site.port}/feed",  # a name that resolves to loopback
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.1.2.3/",
        "http://[fd00:ec2::254]/",
    ):
        error = _error(default, url)
        assert error.permanent and "not a public address" in str(error), url
    assert site.requests == []  # refused before connecting
    assert "not an http(s) URL" in str(_error(default, "file:///etc/passwd"))

    allowed = _fetcher(site)
    fetched = allowed.get(f"{site.url}/feed")
    assert (fetched.status, fetched.content_type) == (200, "application/rss+xml")
    assert fetched.body.decode() == FEED
    # Only that port: another service on loopback stays out of reach.
    assert "not a public address" in str(_error(allowed, "http://127.0.0.1:9/"))
    assert site.requests[-1][1]["user-agent"].startswith("newsmon/")


def test_every_redirect_hop_is_checked(site: Site) -> None:
    site.routes["/a"] = (301, {"Location": "/b"}, b"")
    site.routes["/b"] = (302, {"Location": f"{site.url}/c"}, b"")
    site.routes["/c"] = (200, {}, b"final")
    site.routes["/to-metadata"] = (302, {"Location": "http://169.254.169.254/"}, b"")
    site.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    fetcher = _fetcher(site)
    fetched = fetcher.get(f"{site.url}/a")
    assert (fetched.url, fetched.body) == (f"{site.url}/c", b"final")
    assert "not a public address" in str(_error(fetcher, f"{site.url}/to-metadata"))
    assert "more than 5 redirects" in str(_error(fetcher, f"{site.url}/loop"))


def test_conditional_get(site: Site) -> None:
    def feed(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if headers.get("if-none-match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"ETag": '"v1"', "Last-Modified": "Sat, 21 Nov 2026 10:00:00 GMT"}, b"x"

    site.routes["/feed"] = feed
    fetcher = _fetcher(site)
    first = fetcher.get(f"{site.url}/feed")
    assert (first.etag, first.last_modified) == ('"v1"', "Sat, 21 Nov 2026 10:00:00 GMT")
    again = fetcher.get(f"{site.url}/feed", etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.body == b""
    assert site.requests[-1][1]["if-modified-since"] == "Sat, 21 Nov 2026 10:00:00 GMT"


def test_status_codes_become_transient_or_permanent_errors(site: Site) -> None:
    site.routes["/busy"] = (429, {"Retry-After": "7"}, b"slow down")
    site.routes["/broken"] = (500, {}, b"oops")
    fetcher = _fetcher(site)
    busy = _error(fetcher, f"{site.url}/busy")
    assert (busy.permanent, busy.retry_after, busy.status) == (False, 7.0, 429)
    assert not _error(fetcher, f"{site.url}/broken").permanent
    gone = _error(fetcher, f"{site.url}/missing")
    assert gone.permanent and "HTTP 404" in str(gone)


def test_timeouts_and_size_caps(site: Site) -> None:
    def slow(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        time.sleep(1.5)
        return 200, {}, b"late"

    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))
    site.routes["/slow"] = slow
    site.routes["/bomb"] = (200, {"Content-Encoding": "gzip"}, bomb)
    site.routes["/big"] = (200, {}, b"x" * (2 * 1024 * 1024))
    fetcher = _fetcher(site, fetch_timeout=0.5, fetch_max_bytes=1024 * 1024)
    timed_out = _error(fetcher, f"{site.url}/slow")
    assert "timed out" in str(timed_out) and not timed_out.permanent
    assert len(bomb) < 100 * 1024
    exploded = _error(fetcher, f"{site.url}/bomb")
    assert exploded.permanent and "after decompression" in str(exploded)
    assert "too large: 2,097,152 bytes" in str(_error(fetcher, f"{site.url}/big"))


def test_robots_and_politeness(site: Site) -> None:
    site.routes["/private/page"] = (200, {}, b"secret")
    site.routes["/news/1"] = (200, {}, b"one")

    def slow(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        time.sleep(0.3)
        return 200, {}, b"slow"

    site.routes["/news/slow"] = slow
    fetcher = _fetcher(site, fetch_host_delay=0.4)
    assert "robots.txt" in str(_error(fetcher, f"{site.url}/private/page"))
    assert _fetcher(site, fetch_respect_robots=False).get(f"{site.url}/private/page").body

    # One request at a time per host, at least the delay apart.
    started = time.monotonic()
    threads = [
        threading.Thread(target=fetcher.get, args=(f"{site.url}/news/slow",)) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert site.most_in_flight == 1
    assert time.monotonic() - started >= 2 * 0.4 + 3 * 0.3 - 0.05


def test_robots_crawl_delay_slows_the_host(site: Site) -> None:
    site.routes["/robots.txt"] = (200, {}, b"User-agent: *\nCrawl-delay: 1\n")
    site.routes["/n"] = (200, {}, b"n")
    fetcher = _fetcher(site)
    fetcher.get(f"{site.url}/n")
    started = time.monotonic()
    fetcher.get(f"{site.url}/n")
    assert time.monotonic() - started >= 0.95


def test_bad_allow_entries_fail_with_their_text() -> None:
    with pytest.raises(ValueError, match="not-a-network"):
        AddressGuard(["not-a-network"])


def test_https_keeps_the_host_name_for_tls_while_connecting_to_the_checked_address(
    tmp_path: Path,
) -> None:
    cert = self_signed_cert(tmp_path)
    with http_site(cert) as secure:
        secure.routes["/robots.txt"] = (200, {}, b"User-agent: *\n")
        secure.routes["/news"] = (200, {"Content-Type": "text/html"}, "خبر".encode())
        trusted = ssl.create_default_context(cafile=str(cert[0]))
        settings = Settings(fetch_allow=(f"127.0.0.1:{secure.port}",), fetch_host_delay=0)
        fetcher = Fetcher(fetch_config(settings), verify=trusted)
        # localhost resolves to 127.0.0.1 (allowed); the certificate is checked for "localhost".
        fetched = fetcher.get(f"{secure.url}/news")
        assert fetched.body.decode() == "خبر"
        assert secure.requests[-1][1]["host"] == f"localhost:{secure.port}"
        # Another name on the same address gets its own connection, and the certificate
        # (valid for localhost and 127.0.0.1 only) fails for it, as it must.
        fetcher.guard.resolver = lambda host, port: ["127.0.0.1"]
        error = _error(fetcher, f"https://news.example:{secure.port}/news")
        assert "certificate" in str(error).lower() or "hostname" in str(error).lower()
