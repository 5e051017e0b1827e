"""Which store the settings name, and opening it: all a command that only reads the store
needs, without the pipeline's imports (dedup, Elasticsearch, taggers) that compose brings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from newsmon.secret_urls import split_credentials
from newsmon.settings import Settings
from newsmon.store.base import Store

_SERVER_SCHEMES = ("postgres://", "postgresql://")
_SQLITE_SCHEME = "sqlite:///"


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Which store to open: a SQLite file (the embedded default) or a PostgreSQL database.

    A server URL's user and password travel apart from it, the password as a secret: the
    config is a flow parameter, and Prefect records those in clear.
    """

    location: str
    user: str | None = None
    password: SecretStr | None = None

    @classmethod
    def from_url(cls, url: str) -> StoreConfig:
        """The store a URL or path names: sqlite:///path, a plain path, or postgresql://."""
        if url.startswith(_SERVER_SCHEMES):
            bare, user, password = split_credentials(url)
            return cls(bare, user, SecretStr(password) if password is not None else None)
        return cls(url.removeprefix(_SQLITE_SCHEME))

    @property
    def is_server(self) -> bool:
        """Whether the store is a PostgreSQL server (else a SQLite file)."""
        return self.location.startswith(_SERVER_SCHEMES)

    def open(self) -> Store:
        """Open the store; StoreError names the location and why it cannot be used."""
        if self.is_server:
            from newsmon.store.postgres import PostgresStore

            password = self.password.get_secret_value() if self.password else None
            return PostgresStore(self.location, _search_terms, self.user, password)
        from newsmon.store.sqlite import SQLiteStore

        return SQLiteStore(Path(self.location), analyzer=_search_terms)


def _search_terms(text_norm: str) -> str:
    """The store's full-text analyzer, imported when first used: the Arabic tables it loads
    cost most of a second, and a command that only lists stories never writes terms."""
    from enrich.arabic import search_terms

    return search_terms(text_norm)


def store_config(settings: Settings) -> StoreConfig:
    """The store the settings name."""
    url = settings.store_url.get_secret_value() if settings.store_url else settings.db
    return StoreConfig.from_url(url)


def open_store(settings: Settings) -> Store:
    """Open the store the settings name (the embedded SQLite file by default)."""
    return store_config(settings).open()
