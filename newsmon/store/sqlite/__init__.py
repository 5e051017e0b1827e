"""SQLite store: one file, WAL mode, FTS5 search, schema by numbered migrations.

The ports' SQL is in newsmon.store.sql, shared with PostgreSQL; SQLiteStore joins it over
one connection, so a run, its articles and its outbox rows commit in one file.
"""

from __future__ import annotations

from newsmon.store.sql.alert_outbox import AlertOutboxTables
from newsmon.store.sql.articles import LAYOUT_KEY, ArticleTables
from newsmon.store.sql.feed_alerts import FeedAlertTables
from newsmon.store.sql.feeds import FeedTables
from newsmon.store.sql.index_outbox import IndexOutboxTables
from newsmon.store.sql.runs import RunLogTables
from newsmon.store.sql.seen_files import SeenFileTables
from newsmon.store.sql.tables import Analyzer
from newsmon.store.sqlite.database import SQLiteDatabase


class SQLiteStore(
    RunLogTables,
    ArticleTables,
    IndexOutboxTables,
    FeedAlertTables,
    AlertOutboxTables,
    FeedTables,
    SeenFileTables,
    SQLiteDatabase,
):
    """Store backed by one SQLite file; safe for several processes (WAL, immediate writes)."""


__all__ = ["LAYOUT_KEY", "Analyzer", "SQLiteStore"]
