"""The compose stack's PostgreSQL set-up, run against a real server."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from pg_server import PostgresServer

from newsmon.compose import StoreConfig
from newsmon.errors import StoreError

pytestmark = pytest.mark.integration

INIT = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "init-newsmon.sh"


def test_the_init_script_makes_a_role_and_database_newsmon_can_open(
    postgres_server: PostgresServer,
) -> None:
    if shutil.which("psql") is None:
        pytest.skip("psql not on PATH (the postgres image has it; this machine does not)")
    tag = uuid.uuid4().hex[:8]
    user, name, password = f"app_{tag}", f"store_{tag}", f"pw-{tag}"
    env = {
        **os.environ,
        # What the postgres image gives its init scripts, pointed at the test server.
        "POSTGRES_USER": "newsmon",
        "POSTGRES_DB": "postgres",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres_server.port),
        "PGPASSWORD": postgres_server.password,
        "NEWSMON_DB_USER": user,
        "NEWSMON_DB_NAME": name,
        "NEWSMON_DB_PASSWORD": password,
    }
    done = subprocess.run(["sh", str(INIT)], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    url = f"postgresql://{user}:{password}@127.0.0.1:{postgres_server.port}/{name}"
    store = StoreConfig.from_url(url).open()  # the role owns the database: it can migrate
    try:
        assert store.count_articles() == 0
    finally:
        store.close()
    with pytest.raises(StoreError, match="password authentication failed"):
        StoreConfig.from_url(url.replace(password, "wrong")).open()

    env.pop("NEWSMON_DB_PASSWORD")
    refused = subprocess.run(["sh", str(INIT)], env=env, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "set NEWSMON_DB_PASSWORD" in refused.stderr


def test_a_failing_migration_names_its_file_and_changes_nothing(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import newsmon.store.postgres.database as database
    from newsmon.store.sql.migrations import Migration, migrations

    StoreConfig.from_url(postgres_url).open().close()
    shipped = migrations()
    number = shipped[-1].number + 1
    broken = Migration(number, f"{number:04d}_broken.sql", "CREATE TABLE half (a INTEGER);\n"
                       "SELECT no_such_function();\n")  # fmt: skip
    monkeypatch.setattr(database, "migrations", lambda: [*shipped, broken])
    with pytest.raises(StoreError, match=rf"migration {number:04d}_broken.sql failed: function"):
        StoreConfig.from_url(postgres_url).open()
    monkeypatch.undo()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (number - 1,)
        assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)
