"""Store backends behind one interface; open_store picks one from the settings."""

from __future__ import annotations

from newsmon.settings import Settings
from newsmon.store.base import Store


def open_store(settings: Settings) -> Store:
    """Open the store the settings name (the embedded SQLite file by default)."""
    from enrich.arabic import search_terms
    from newsmon.errors import StoreError
    from newsmon.store.sqlite import SQLiteStore

    if str(settings.db).startswith(("postgres://", "postgresql://")):
        raise StoreError(f"{settings.db}: PostgreSQL is not supported yet; use a SQLite file path")
    return SQLiteStore(settings.db, analyzer=search_terms)


__all__ = ["Store", "open_store"]
