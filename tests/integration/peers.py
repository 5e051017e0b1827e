"""Peers for the integration suite: the CLI as a subprocess, Elasticsearch, SMTP, a webhook."""

from __future__ import annotations

import email.policy
import io
import ipaddress
import json
import logging
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from es_emulator import stop_process

from connectors.elasticsearch import ElasticsearchSink
from newsmon.compose import es_config
from newsmon.settings import Settings


@dataclass(frozen=True)
class CliResult:
    """What one `newsmon` invocation printed and returned."""

    returncode: int
    stdout: str
    stderr: str


def newsmon(
    *args: str, db: Path | str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> CliResult:
    """Run the CLI in this process, as `newsmon ARGS` would with these variables.

    A subprocess would add a Python and Prefect start-up (about 9 s) and prove nothing more:
    flows report to the suite's Prefect server either way. Tests of what only a process
    shows (a kill, the entry point) use newsmon_process.
    """
    from click.testing import CliRunner

    from newsmon.cli import cli, log_handler

    variables: dict[str, str | None] = {"NEWSMON_DB": str(db), **(env or {})}
    # Log records reach standard error as `main()` sets them up for a real process.
    logged = io.StringIO()
    handler = log_handler(logged)
    handler.setLevel(logging.WARNING)
    logging.getLogger().addHandler(handler)
    before = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner(catch_exceptions=False).invoke(cli, list(args), env=variables)
    finally:
        os.chdir(before)
        logging.getLogger().removeHandler(handler)
    return CliResult(result.exit_code, result.stdout, result.stderr + logged.getvalue())


def newsmon_process(
    *args: str, db: Path | str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> CliResult:
    """Run `python -m newsmon ARGS` in a subprocess."""
    variables = {**os.environ, "NEWSMON_DB": str(db), **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "newsmon", *args],
        capture_output=True,
        text=True,
        env=variables,
        cwd=cwd,
        timeout=300,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


@dataclass(frozen=True)
class ElasticsearchTarget:
    """Where the Elasticsearch suite writes: a real cluster or the emulator, one alias a test."""

    url: str
    emulator: bool
    template: Path
    alias: str

    def env(self) -> dict[str, str]:
        """Settings for a `newsmon` subprocess."""
        return {
            "NEWSMON_ELASTICSEARCH_URL": self.url,
            "NEWSMON_ES_ALIAS": self.alias,
            "NEWSMON_ES_TEMPLATE": str(self.template),
        }

    def sink(self, tmp_path: Path, **settings: object) -> ElasticsearchSink:
        """A sink on this target's alias, for a test to set up, write or read through."""
        config = es_config(
            Settings(
                db=tmp_path / "unused.db",
                elasticsearch_url=self.url,
                es_alias=self.alias,
                es_template=self.template,
                **settings,
            )
        )
        assert config is not None
        return ElasticsearchSink(config)


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """A real Prefect API server on a free loopback port, for the whole suite; yields its URL.

    `newsmon` subprocesses report to it instead of each starting a temporary server of its own
    (about 6 s a run on this machine).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    command = [str(Path(sys.executable).parent / "prefect"), "server", "start"]
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"prefect server exited {server.returncode}: see {home}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except (OSError, httpx.HTTPError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"prefect server not up after 120 s: see {home}")
            time.sleep(0.3)
        yield url
    finally:
        stop_process(server)
        log.close()


def free_port() -> int:
    """A loopback port nobody listens on (for a peer, or for a receiver that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class SmtpPeer:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it accepts.

    refuse: replies for the next DATA commands instead of accepting (e.g. "451 4.3.0 busy").
    """

    port: int
    security: str
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        parsed = BytesParser(policy=email.policy.default).parsebytes(envelope.original_content)
        self.messages.append(parsed)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)

    def settings(self, cert: Path | None) -> dict[str, Any]:
        """Settings that make newsmon send to this peer."""
        return {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": self.security,
            "smtp_username": SMTP_USER if self.security != "none" else None,
            "smtp_password": SMTP_PASSWORD if self.security != "none" else None,
            "smtp_ca_certs": cert,
            "smtp_timeout": 5.0,
            "alert_email_from": "newsmon@monitor.example.org",
            "alert_email_to": ("analysts@example.org", "desk@example.org"),
        }


SMTP_USER = "newsmon"
SMTP_PASSWORD = "s3cret-pass"


@contextmanager
def smtp_peer(
    security: str = "none", cert: tuple[Path, Path] | None = None, port: int | None = None
) -> Iterator[SmtpPeer]:
    """Run an SMTP peer: plain, STARTTLS (required, with AUTH) or implicit TLS (with AUTH)."""
    peer = SmtpPeer(port or free_port(), security)
    options: dict[str, Any] = {}
    if security != "none":
        assert cert is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert)
        options = {"authenticator": peer.authenticate, "auth_require_tls": True}
        if security == "starttls":
            options.update(tls_context=context, require_starttls=True)
        else:
            # aiosmtpd counts only STARTTLS as TLS for AUTH; this socket is TLS from the start.
            options.update(ssl_context=context, auth_require_tls=False)
    controller = Controller(peer, hostname="127.0.0.1", port=peer.port, **options)
    controller.start()
    try:
        yield peer
    finally:
        controller.stop()


@contextmanager
def _serving(server: ThreadingHTTPServer) -> Iterator[None]:
    """Serve on a background thread until the block ends."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Received:
    """One request the webhook peer got."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookPeer:
    """A real HTTP server on loopback that records POSTs and answers as scripted.

    script: what to do for the next requests, one entry each: an HTTP status to answer,
    or ("sleep", seconds) to hang before answering 200. Then 200.
    on_request: called with each request before it is answered (e.g. to kill the sender).
    """

    url: str = ""
    received: list[Received] = field(default_factory=list)
    script: list[Any] = field(default_factory=list)
    delay: float = 0.0
    on_request: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted_keys(self) -> list[str]:
        """Idempotency keys of the requests answered 2xx, in order."""
        return [
            r.headers["idempotency-key"]
            for r in self.received
            if r.headers.get("x-status") == "200"
        ]


@contextmanager
def webhook_peer(port: int | None = None) -> Iterator[WebhookPeer]:
    """Run a webhook receiver on loopback (on a given port, to bring a 'down' one up)."""
    peer = WebhookPeer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with peer.lock:
                action = peer.script.pop(0) if peer.script else 200
            headers = {k.lower(): v for k, v in self.headers.items()}
            record = Received(headers, body)
            with peer.lock:
                peer.received.append(record)
            if peer.on_request:
                peer.on_request(record)
            if isinstance(action, tuple):
                # Processed (status recorded) but answered too late for the sender.
                record.headers["x-status"] = "200"
                time.sleep(action[1])
                action = 200
            time.sleep(peer.delay)
            record.headers["x-status"] = str(action)
            payload = b"ok" if action == 200 else f"scripted {action}".encode()
            try:
                self.send_response(action)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting (a timeout test) or was killed

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
    peer.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/newsmon"
    with _serving(server):
        yield peer


Reply = tuple[int, dict[str, str], bytes]


def _reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    """Send a scripted answer: status, headers and body."""
    status, headers, payload = reply
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


@dataclass
class Site:
    """A real HTTP server on loopback answering GETs from a table of paths.

    routes: path -> a reply (status, headers, body) or a function of the request headers
    returning one. requests: (path, headers) of every GET, in order.
    """

    url: str = ""
    port: int = 0
    routes: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def http_site(cert: tuple[Path, Path] | None = None) -> Iterator[Site]:
    """Run a Site on a free loopback port (HTTPS with the given certificate and key)."""
    site = Site()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            with site.lock:
                site.requests.append((self.path, headers))
                site.in_flight += 1
                site.most_in_flight = max(site.most_in_flight, site.in_flight)
            try:
                path = self.path.split("?", 1)[0]  # like most sites: the query does not route
                route = site.routes.get(path, (404, {}, b"not found"))
                status, extra, body = route(headers) if callable(route) else route
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                if "Content-Length" not in extra:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with site.lock:
                    site.in_flight -= 1

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.port = server.server_address[1]
    site.url = f"http://127.0.0.1:{site.port}"
    if cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        site.url = f"https://localhost:{site.port}"
    with _serving(server):
        yield site


def wait_for_events(
    name: str, since: datetime, done: Callable[[list[Any]], bool], seconds: float = 30
) -> list[Any]:
    """Events of this name since then, read from the Prefect API until done(events) holds
    or the time is up (events reach the server a moment after they are emitted)."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all()
    events: list[Any] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with get_client(sync_client=True) as client:
            page = client.read_events(
                EventFilter(
                    occurred=EventOccurredFilter(since=since), event=EventNameFilter(name=[name])
                ),
                limit=50,
            )
        events = list(page.events)
        if done(events):
            break
        time.sleep(0.3)
    return events


_BULK_REQUEST = re.compile(rb"(?:POST|PUT) /\S*_bulk")
_REQUEST_LINE = re.compile(rb"^(GET|HEAD|POST|PUT|DELETE) (/\S*) HTTP/", re.MULTILINE)


@dataclass
class TcpCut:
    """A loopback TCP proxy in front of a server that goes away after `bulks_allowed` bulk
    requests (the next one is never forwarded) and comes back on the same port when told.

    It stands in for a server stopped mid-work whatever the server is (a real cluster or the
    emulator): the client sees connections reset, then nothing listening. `requests` lists
    the method and path of each request it forwarded.
    """

    target: tuple[str, int]
    bulks_allowed: int
    port: int = 0
    bulks: int = 0
    cut: threading.Event = field(default_factory=threading.Event)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _listener: socket.socket | None = None
    _open: list[socket.socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def listen(self) -> None:
        """Accept connections on the proxy's port (again, after a cut)."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        self.cut.clear()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by a cut
            upstream = socket.create_connection(self.target)
            self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, requests: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if requests and _BULK_REQUEST.search(chunk):
                    self.bulks += 1
                    if self.bulks > self.bulks_allowed:
                        self.stop()
                        return
                if requests:
                    self.requests += [
                        (m.decode(), path.decode()) for m, path in _REQUEST_LINE.findall(chunk)
                    ]
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.close()

    def stop(self) -> None:
        """Go away: reset every connection and stop listening."""
        self.cut.set()
        if self._listener is not None:
            with suppress(OSError):
                self._listener.close()
        for end in self._open:
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
                end.close()
        self._open.clear()


@dataclass
class ChatApis:
    """Slack's and Teams' incoming webhooks and Telegram's Bot API, on one loopback server.

    Each answers as the real API does: Slack `200 ok` (or its error words as text), Teams
    `202` with an empty body, Telegram JSON `{"ok": true, "result": …}` or `{"ok": false,
    "error_code", "description", "parameters"}`. Telegram checks the token, the chat and the
    text's length as the Bot API does. `script[api]` lists answers (status codes) to give
    before the normal one; posts[api] holds each accepted JSON body.
    """

    token: str = "123456:TEST-token"
    chat_id: str = "-1001234567890"
    base: str = ""
    script: dict[str, list[int]] = field(default_factory=dict)
    posts: dict[str, list[Any]] = field(default_factory=dict)
    answers: list[tuple[str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def slack_url(self) -> str:
        """The Slack incoming-webhook URL (its path is the secret)."""
        return f"{self.base}/services/T0001/B0001/slacksecret"

    @property
    def teams_url(self) -> str:
        """The Teams Workflows webhook URL (its query string is the secret)."""
        return f"{self.base}/workflows/abc/triggers/manual/paths/invoke?sig=teamssecret"


def _telegram_answer(apis: ChatApis, path: str, body: Any, scripted: int | None) -> Reply:
    def answer(status: int, payload: dict[str, Any]) -> Reply:
        return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    if scripted == 429:
        return answer(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        )
    if path != f"/bot{apis.token}/sendMessage":
        return answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    if body.get("chat_id") != apis.chat_id:
        return answer(
            400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        )
    if not body.get("text") or len(body["text"]) > 4096:
        return answer(
            400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        )
    with apis.lock:
        apis.posts.setdefault("telegram", []).append(body)
        number = len(apis.posts["telegram"])
    return answer(200, {"ok": True, "result": {"message_id": number, "chat": {"id": apis.chat_id}}})


def _chat_answer(apis: ChatApis, path: str, raw: bytes) -> Reply:
    api = (
        "slack"
        if path.startswith("/services/")
        else "teams"
        if path.startswith("/workflows/")
        else "telegram"
    )
    with apis.lock:
        queue = apis.script.get(api) or []
        scripted = queue.pop(0) if queue else None
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if api == "telegram":
        return _telegram_answer(apis, path, body or {}, scripted)
    if scripted is not None:
        words = {404: b"no_service", 429: b"rate_limited", 500: b"internal_error"}
        headers = {"Retry-After": "1"} if scripted == 429 else {}
        return scripted, headers, words.get(scripted, b"scripted")
    if api == "slack" and (not isinstance(body, dict) or not body.get("text")):
        return 400, {}, b"invalid_payload"
    if api == "teams" and (not isinstance(body, dict) or body.get("type") != "message"):
        return 400, {}, b"Bad payload"
    with apis.lock:
        apis.posts.setdefault(api, []).append(body)
    return (200, {}, b"ok") if api == "slack" else (202, {}, b"")


@contextmanager
def chat_apis() -> Iterator[ChatApis]:
    """Run loopback stand-ins of Slack, Teams and Telegram that speak their APIs' shapes."""
    apis = ChatApis()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            path = self.path.split("?", 1)[0]
            status, headers, payload = _chat_answer(apis, path, raw)
            with apis.lock:
                apis.answers.append((path, status))
            _reply(self, (status, headers, payload))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    apis.base = f"http://127.0.0.1:{server.server_address[1]}"
    with _serving(server):
        yield apis


@dataclass
class KibanaPeer:
    """A loopback server that answers as Kibana's status and saved-objects import APIs do.

    `starting` status requests get 503 (Kibana migrating) before it is available; an import
    is checked for the kbn-xsrf header, the credentials and a multipart file, and answered
    with Kibana's import result. `refuse` names object ids to report as import errors.
    """

    url: str = ""
    authorization: str | None = None
    starting: int = 0
    refuse: set[str] = field(default_factory=set)
    status_calls: int = 0
    imports: list[tuple[str, bytes]] = field(default_factory=list)  # (path, file body)


def _kibana_import(peer: KibanaPeer, path: str, headers: Any, body: bytes) -> Reply:
    if "kbn-xsrf" not in headers:
        return 400, {}, b'{"statusCode":400,"message":"Request must contain a kbn-xsrf header."}'
    content_type = headers.get("content-type", "")
    boundary = content_type.partition("boundary=")[2].encode()
    parts = [p for p in body.split(b"--" + boundary) if b'name="file"' in p] if boundary else []
    if not parts:
        return 415, {}, b'{"statusCode":415,"message":"Unsupported Media Type"}'
    uploaded = parts[0].split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
    peer.imports.append((path, uploaded))
    objects = [json.loads(line) for line in uploaded.decode().splitlines() if line.strip()]
    errors = [
        {"id": o["id"], "type": o["type"], "error": {"type": "unknown", "message": "refused"}}
        for o in objects
        if o["id"] in peer.refuse
    ]
    result: dict[str, Any] = {"success": not errors, "successCount": len(objects) - len(errors)}
    if errors:
        result["errors"] = errors
    return 200, {"content-type": "application/json"}, json.dumps(result).encode()


@contextmanager
def kibana_peer(**script: Any) -> Iterator[KibanaPeer]:
    """Run a Kibana-shaped API on loopback (see KibanaPeer)."""
    peer = KibanaPeer(**script)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, reply: Reply) -> None:
            _reply(self, reply)

        def _authorised(self) -> bool:
            if (
                peer.authorization is None
                or self.headers.get("authorization") == peer.authorization
            ):
                return True
            self._answer((401, {}, b'{"statusCode":401,"message":"Unauthorized"}'))
            return False

        def do_GET(self) -> None:
            if not self._authorised():
                return
            if self.path != "/api/status":
                self._answer((404, {}, b"{}"))
                return
            peer.status_calls += 1
            if peer.status_calls <= peer.starting:
                self._answer((503, {}, b'{"status":{"overall":{"level":"unavailable"}}}'))
                return
            self._answer((200, {}, b'{"status":{"overall":{"level":"available"}}}'))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if not self._authorised():
                return
            if not self.path.endswith("/api/saved_objects/_import?overwrite=true"):
                self._answer((404, {}, b"{}"))
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._answer(_kibana_import(peer, self.path, headers, body))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    peer.url = f"http://127.0.0.1:{server.server_address[1]}"
    with _serving(server):
        yield peer
