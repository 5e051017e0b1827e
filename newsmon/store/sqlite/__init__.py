"""SQLite store: one file, WAL mode, FTS5 search, schema by numbered migrations.

Each port of newsmon.store.base has its own module here; SQLiteStore joins them over one
connection, so a run, its articles and its outbox rows commit in one file.
"""

from __future__ import annotations

from newsmon.store.sqlite.alert_outbox import SQLiteAlertOutbox
from newsmon.store.sqlite.articles import LAYOUT_KEY, SQLiteArticles
from newsmon.store.sqlite.connection import Analyzer
from newsmon.store.sqlite.feeds import SQLiteFeeds
from newsmon.store.sqlite.index_outbox import SQLiteIndexOutbox
from newsmon.store.sqlite.runs import SQLiteRunLog


class SQLiteStore(SQLiteRunLog, SQLiteArticles, SQLiteIndexOutbox, SQLiteAlertOutbox, SQLiteFeeds):
    """Store backed by one SQLite file; safe for several processes (WAL, immediate writes)."""


__all__ = ["LAYOUT_KEY", "Analyzer", "SQLiteStore"]
