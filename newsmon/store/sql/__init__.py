"""The store ports in SQL that SQLite and PostgreSQL both run (newsmon.store.base)."""
