"""HTTP fetching for feeds and article pages: safe addresses, size caps, politeness, robots.

Every request, and every redirect hop, resolves the host first and refuses addresses that
are not public (loopback, private, link-local such as the cloud metadata 169.254.169.254,
shared, reserved, multicast) unless the settings allow them. The connection then goes to
the address that was checked (the Host header and TLS name stay the original host), so a
DNS answer that changes between check and connect cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx

from newsmon.allow_list import IPAddress, parse_allow_list
from newsmon.errors import ExternalError

Resolver = Callable[[str, int], list[str]]
_REDIRECTS = {301, 302, 303, 307, 308}
# robots.txt is read once an hour per site and process, as crawlers commonly do.
_ROBOTS_TTL = 3600.0
_robots_cache: dict[str, tuple[float, RobotFileParser | None]] = {}
_robots_lock = threading.Lock()
_RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


class FetchError(ExternalError):
    """A URL could not be fetched (permanent and retry_after as in ExternalError)."""

    def __init__(
        self,
        reason: str,
        permanent: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ):
        super().__init__(reason, permanent, retry_after)
        self.status = status


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response body (decompressed) with what conditional GET and decoding need."""

    url: str  # after redirects
    status: int
    body: bytes
    content_type: str | None
    charset: str | None  # declared in Content-Type
    etag: str | None
    last_modified: str | None
    location: str | None = None  # of a redirect

    @property
    def not_modified(self) -> bool:
        """The server said 304: nothing changed since the validators we sent."""
        return self.status == 304


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local use, never public
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, IPv4-compatible), if any.

    Python calls 64:ff9b::7f00:1 or 2002:7f00:1:: global, yet a NAT64 gateway or 6to4 relay
    delivers them to 127.0.0.1: the guard judges the IPv4 address inside.
    """
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class AddressGuard:
    """Decides which addresses may be fetched: public ones, plus what the settings allow.

    Allowed entries are networks (`10.0.0.0/8`, `127.0.0.1`) or one port on an address
    (`127.0.0.1:8080`, for a local test server).
    """

    def __init__(self, allow: Sequence[str] = (), resolver: Resolver = _system_resolver):
        parsed = parse_allow_list(allow)
        self.networks, self.ports = parsed.networks, parsed.ports
        self.resolver = resolver

    def _allowed(self, address: IPAddress, port: int) -> bool:
        if (address, port) in self.ports or any(address in net for net in self.networks):
            return True
        if isinstance(address, ipaddress.IPv6Address):
            if address in _NAT64_LOCAL:
                return False
            address = embedded_ipv4(address) or address
        return address.is_global and not address.is_multicast

    def resolve(self, host: str, port: int) -> str:
        """The first address of host, after checking every address it resolves to."""
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                addresses = [ipaddress.ip_address(a) for a in self.resolver(host, port)]
            except (OSError, UnicodeError) as exc:
                raise FetchError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise FetchError(f"cannot resolve {host}: no address")
        for address in addresses:
            if not self._allowed(address, port):
                raise FetchError(
                    f"refused: {host} is {address}, not a public address"
                    " (allow it with NEWSMON_FETCH_ALLOW)",
                    permanent=True,
                )
        return str(addresses[0])


class _HostGate:
    """One request at a time per host, at least `delay` seconds apart."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}
        self._delays: dict[str, float] = {}
        self._guard = threading.Lock()

    def slow_down(self, host: str, delay: float) -> None:
        """A host asked for more time between requests (robots.txt Crawl-delay)."""
        self._delays[host] = max(self.delay, delay)

    def lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    def wait(self, host: str) -> None:
        """Sleep until the delay since the host's last response has passed (lock held)."""
        gap = self._delays.get(host, self.delay)
        last = self._last.get(host)
        if last is not None:
            remaining = last + gap - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)

    def done(self, host: str) -> None:
        """The host finished answering: its delay starts now."""
        self._last[host] = time.monotonic()


@dataclass(frozen=True, slots=True)
class FetchConfig:
    """Limits and manners of the fetcher: size, redirects, robots.txt, delays, allowed nets."""

    user_agent: str
    max_bytes: int
    max_redirects: int
    respect_robots: bool
    timeout: float
    host_delay: float
    concurrency: int
    allow: tuple[str, ...]


def _check_url(url: str) -> None:
    """Refuse, for good, a URL that is not http(s) or that urllib cannot parse (a bad port)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises on a port out of range or not a number
    except ValueError as exc:
        raise FetchError(f"refused: bad URL {url!r}: {exc}", permanent=True) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"refused: not an http(s) URL: {url}", permanent=True)


class Fetcher:
    """GETs URLs politely and safely; one instance per run, shared by its fetches."""

    def __init__(
        self,
        config: FetchConfig,
        resolver: Resolver = _system_resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.max_bytes = config.max_bytes
        self.max_redirects = config.max_redirects
        self.respect_robots = config.respect_robots
        self.user_agent = config.user_agent
        self.timeout = config.timeout
        self.verify = verify
        self.guard = AddressGuard(config.allow, resolver)
        self.gate = _HostGate(config.host_delay)
        # One connection pool per host name: connections go to checked addresses, and two
        # sites behind one address (a CDN) must never share a TLS connection verified for
        # only one of them.
        self._clients: dict[str, httpx.Client] = {}
        self._clients_lock = threading.Lock()

    def _client(self, host: str) -> httpx.Client:
        with self._clients_lock:
            client = self._clients.get(host)
            if client is None:
                client = httpx.Client(
                    timeout=self.timeout,
                    follow_redirects=False,
                    verify=self.verify,
                    headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
                )
                self._clients[host] = client
            return client

    def close(self) -> None:
        """Close every connection pool."""
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """GET url (conditional when validators are given), following safe redirects."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(self.max_redirects + 1):
            _check_url(current)
            if self.respect_robots and not self._robots_allow(current):
                raise FetchError(f"refused by robots.txt: {current}", permanent=True)
            response = self._request(current, headers)
            if response.status not in _REDIRECTS:
                return response
            location = response.location
            if not location:
                raise FetchError(f"redirect {response.status} without Location from {current}")
            try:
                current = urljoin(current, location)
            except ValueError as exc:
                raise FetchError(f"bad redirect from {current}: {exc}", permanent=True) from None
        raise FetchError(f"more than {self.max_redirects} redirects from {url}", permanent=True)

    def _request(self, url: str, headers: dict[str, str]) -> Fetched:
        parts = urlsplit(url)  # checked by _check_url
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with self.gate.lock(host):
            address = self.guard.resolve(host, port)
            self.gate.wait(host)
            pinned = address if ":" not in address else f"[{address}]"
            netloc = f"{pinned}:{parts.port}" if parts.port else pinned
            target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
            host_header = parts.netloc.rsplit("@", 1)[-1]
            client = self._client(host)
            request = client.build_request(
                "GET",
                target,
                headers={**headers, "Host": host_header},
                extensions={"sni_hostname": host},
            )
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                self.gate.done(host)
                raise FetchError(f"timed out fetching {url}") from exc
            except httpx.HTTPError as exc:
                self.gate.done(host)
                raise FetchError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from exc
            try:
                return self._read(url, response)
            finally:
                response.close()
                self.gate.done(host)

    def _read(self, url: str, response: httpx.Response) -> Fetched:
        status = response.status_code
        if status in _REDIRECTS:
            location = response.headers.get("location")
            return Fetched(url, status, b"", None, None, None, None, location=location)
        if status in _RETRYABLE:
            raise FetchError(
                f"{url}: HTTP {status} {response.reason_phrase}",
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
                status=status,
            )
        if status >= 400:
            reason = f"{url}: HTTP {status} {response.reason_phrase}"
            raise FetchError(reason, permanent=True, status=status)
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(
                f"{url}: too large: {int(declared):,} bytes (limit {self.max_bytes:,})", True
            )
        body = bytearray()
        try:
            # Decompressed bytes are counted: a small gzip bomb stops at the cap.
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    raise FetchError(
                        f"{url}: too large: over {self.max_bytes:,} bytes after decompression",
                        permanent=True,
                    )
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out reading {url}") from exc
        except httpx.DecodingError as exc:
            raise FetchError(f"{url}: bad compressed body: {exc}", permanent=True) from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"{url}: connection lost: {exc}") from exc
        content_type = response.headers.get("content-type")
        return Fetched(
            url=url,
            status=status,
            body=bytes(body),
            content_type=content_type.split(";")[0].strip().lower() if content_type else None,
            charset=response.charset_encoding,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with _robots_lock:
            cached = _robots_cache.get(origin)
        if cached is None or cached[0] < time.monotonic():
            cached = (time.monotonic() + _ROBOTS_TTL, self._load_robots(origin))
            with _robots_lock:
                _robots_cache[origin] = cached
        robots = cached[1]
        if robots is not None:
            delay = robots.crawl_delay(self.user_agent)
            if delay:
                self.gate.slow_down(parts.hostname or "", float(delay))
        return robots is None or robots.can_fetch(self.user_agent, url)

    def _load_robots(self, origin: str) -> RobotFileParser | None:
        """The site's rules; None (allow all) when it has none (RFC 9309: 4xx)."""
        try:
            fetched = self._request(origin + "/robots.txt", {})
        except FetchError as exc:
            if exc.status and 400 <= exc.status < 500 and exc.status != 429:
                return None
            if exc.permanent:
                raise  # a refused address or an oversized file: the site itself is out
            # RFC 9309: an unreachable robots.txt means "not now" for the whole site.
            raise FetchError(f"robots.txt unreachable at {origin}: {exc}") from exc
        if fetched.status in _REDIRECTS or not fetched.body:
            # A moved robots.txt is read as none: the usual move is http→https of the same
            # site, whose pages then redirect there and get their own check.
            return None
        parser = RobotFileParser()
        parser.parse(fetched.body.decode("utf-8", errors="replace").splitlines())
        return parser
