"""A real PostgreSQL server for the tests: initdb in a temporary folder, a free loopback port.

Found on PATH, else in `pg_config --bindir`. initdb and postgres refuse to run as root, so
as root they run as the unprivileged user `nobody`, in a folder that user owns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

_START_TIMEOUT_S = 60


def postgres_bindir() -> Path | None:
    """Where initdb and postgres are, or None on a machine without PostgreSQL."""
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(found).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if bindir and (Path(bindir) / "initdb").exists():
            return Path(bindir)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One running server; `fresh_database()` gives each test an empty database."""

    def __init__(self, bindir: Path) -> None:
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="newsmon-pg-"))
        user = None
        if os.geteuid() == 0:
            user = "nobody"
            owner = pwd.getpwnam(user)
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        data = self.folder / "data"
        # A password over TCP, as a real deployment has: the tests check it is never shown.
        self.password = f"pw-{uuid.uuid4().hex}"
        password_file = self.folder / "password"
        password_file.write_text(self.password)
        if user:
            os.chown(password_file, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "newsmon",
             "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={password_file}",
             "-E", "UTF8", "--locale=C.UTF-8"],
            user=user, check=True, capture_output=True,
        )  # fmt: skip
        password_file.unlink()
        self._log = (self.folder / "server.log").open("w")
        self._process = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port),
             "-k", str(self.folder), "-c", "listen_addresses=127.0.0.1",
             # A test server: durability is not what is tested, speed is welcome.
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            user=user, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.url = f"postgresql://newsmon:{self.password}@127.0.0.1:{self.port}"
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                psycopg.connect(f"{self.url}/postgres", connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    log = (self.folder / "server.log").read_text(errors="replace")
                    raise RuntimeError(f"PostgreSQL did not start:\n{log[-2000:]}") from None
                time.sleep(0.1)

    def fresh_database(self) -> str:
        """Create an empty database and return its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"{self.url}/{name}"

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        self._process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=30)
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer | None]:
    """A server for the session, or None when this machine has no PostgreSQL binaries."""
    bindir = postgres_bindir()
    if bindir is None:
        yield None
        return
    server = PostgresServer(bindir)
    try:
        yield server
    finally:
        server.stop()
