"""Elasticsearch sink on the official client: template and alias setup, bulk indexing, reindex.

Documents are written through a write alias (`es_alias`) onto numbered indices
(`<alias>-000001`, ...), so `reindex` can build a new index from the store and swap the
alias in one atomic step. `_id` is the article id: sending a document again updates it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers
from pydantic import SecretStr

from newsmon.errors import ExternalError
from newsmon.export import article_json
from newsmon.packaged import packaged
from newsmon.records import Article
from newsmon.secret_urls import redact

log = logging.getLogger("newsmon.elasticsearch")

DEFAULT_TEMPLATE = packaged("stories-template.json")
# Item statuses worth sending again later: too many requests and server-side failures.
_RETRY_LATER = {429, 500, 502, 503, 504}


@dataclass(frozen=True, slots=True)
class ElasticsearchConfig:
    """Where and how to index: the cluster, its credentials, the alias and bulk sizes."""

    url: str
    alias: str
    template: Path | None
    batch_size: int
    concurrency: int
    timeout: float
    max_retries: int
    api_key: SecretStr | None
    username: str | None
    password: SecretStr | None
    ca_certs: Path | None
    verify_certs: bool


class SinkUnavailable(ExternalError):
    """Elasticsearch could not be reached or refused the whole request; nothing was lost."""


@dataclass(slots=True)
class IndexOutcome:
    """What one bulk pass did with each document."""

    indexed: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (id, Elasticsearch's reason)
    retry_later: list[str] = field(default_factory=list)


def es_document(
    article: Article, sources: Sequence[str], alert_rules: Sequence[str] = ()
) -> dict[str, Any]:
    """The indexed document: the export record plus keyword fields for filters and charts."""
    doc = article_json(article, list(sources))
    doc["alert_rules"] = list(alert_rules)
    doc["first_copy"] = article.duplicate_of is None
    doc["entity_ids"] = [tag.id for tag in article.entities]
    doc["entity_labels"] = [tag.label for tag in article.entities]
    host = urlsplit(article.url).hostname if article.url else None
    doc["source_domain"] = host.removeprefix("www.") if host else None
    return doc


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        caused = error.get("caused_by")
        return f"{reason} (caused by {_reason(caused)})" if caused else reason
    return str(error)


class ElasticsearchSink:
    """Writes stories to Elasticsearch; one instance per run or command."""

    def __init__(self, config: ElasticsearchConfig, client: Elasticsearch | None = None) -> None:
        self.url = redact(config.url)
        self.alias = config.alias
        self.template_path = config.template or DEFAULT_TEMPLATE
        self.batch_size = config.batch_size
        self.concurrency = config.concurrency
        self.max_retries = config.max_retries
        auth: dict[str, Any] = {}
        if config.api_key:
            auth["api_key"] = config.api_key.get_secret_value()
        elif config.username and config.password:
            auth["basic_auth"] = (config.username, config.password.get_secret_value())
        if config.ca_certs:
            auth["ca_certs"] = str(config.ca_certs)
        self.client = client or Elasticsearch(
            config.url,
            request_timeout=config.timeout,
            max_retries=config.max_retries,
            retry_on_timeout=True,
            retry_on_status=(502, 503, 504),
            verify_certs=config.verify_certs,
            **auth,
        )

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (TransportError, ApiError) as exc:
            raise SinkUnavailable(f"{self.url}: {what} failed: {exc}") from exc

    def template(self) -> dict[str, Any]:
        """The index template body from its JSON file."""
        try:
            body: dict[str, Any] = json.loads(self.template_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.template_path}: cannot read index template: {exc}") from exc
        body["index_patterns"] = [f"{self.alias}-*"]
        return body

    def setup(self) -> str:
        """Install the index template; create the first index behind the alias if none exists.

        Returns the index the alias writes to. Safe to call on every run.
        """
        self._call(
            "installing the index template",
            self.client.indices.put_index_template,
            name=self.alias,
            **self.template(),
        )
        exists = self._call("reading aliases", self.client.indices.exists_alias, name=self.alias)
        if not exists:
            first = f"{self.alias}-000001"
            self._call(
                f"creating {first}",
                self.client.indices.create,
                index=first,
                aliases={self.alias: {"is_write_index": True}},
            )
            return first
        index = self.write_index()
        # An index made under an older template lacks the fields added since (event_id):
        # with `dynamic: strict` every document would be refused. New fields can be added
        # in place; a changed field cannot, and needs `newsmon es reindex`.
        properties = self.template()["template"]["mappings"]["properties"]
        self._call(
            f"adding the template's new fields to {index} (if a field changed type, run"
            " `newsmon es reindex`)",
            self.client.indices.put_mapping,
            index=index,
            properties=properties,
        )
        return index

    def write_index(self) -> str:
        """The concrete index the alias writes to."""
        aliases = self._call("reading aliases", self.client.indices.get_alias, name=self.alias)
        for index, body in aliases.body.items():
            if body["aliases"][self.alias].get("is_write_index", len(aliases.body) == 1):
                return str(index)
        raise SinkUnavailable(f"{self.url}: alias {self.alias} has no write index")

    def _bulk(self, index: str, docs: list[dict[str, Any]]) -> IndexOutcome:
        outcome = IndexOutcome()
        actions = ({"_index": index, "_id": d["id"], "_source": d} for d in docs)
        try:
            results = helpers.streaming_bulk(
                self.client,
                actions,
                chunk_size=len(docs),
                max_retries=self.max_retries,  # 429s, with exponential backoff
                initial_backoff=1,
                raise_on_error=False,
                raise_on_exception=True,
            )
            for ok, item in results:
                result = item.get("index", {})
                doc_id = str(result.get("_id"))
                if ok:
                    outcome.indexed.append(doc_id)
                elif result.get("status") in _RETRY_LATER:
                    outcome.retry_later.append(doc_id)
                else:
                    outcome.rejected.append((doc_id, _reason(result.get("error"))))
        except (TransportError, ApiError) as exc:
            raise SinkUnavailable(f"{self.url}: bulk request failed: {exc}") from exc
        return outcome

    def index(self, docs: Iterable[dict[str, Any]], index: str | None = None) -> IndexOutcome:
        """Bulk-index documents through the alias (or into `index`); per-document outcome.

        Requests of `es_batch_size` documents, `es_concurrency` in flight. Raises
        SinkUnavailable when Elasticsearch cannot take requests at all.
        """
        target = index or self.alias
        batch: list[dict[str, Any]] = []
        chunks: list[list[dict[str, Any]]] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) == self.batch_size:
                chunks.append(batch)
                batch = []
        if batch:
            chunks.append(batch)
        total = IndexOutcome()
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for outcome in pool.map(lambda chunk: self._bulk(target, chunk), chunks):
                total.indexed += outcome.indexed
                total.rejected += outcome.rejected
                total.retry_later += outcome.retry_later
        return total

    def reindex_target(self) -> tuple[str, bool]:
        """The next numbered index, for a reindex, without moving the alias; and whether it
        was already there (left by an interrupted reindex, whose work is then resumed)."""
        current = self.write_index()
        number = int(current.rsplit("-", 1)[1]) + 1 if current.rsplit("-", 1)[1].isdigit() else 1
        name = f"{self.alias}-{number:06d}"
        if self._call(f"looking for {name}", self.client.indices.exists, index=name):
            return name, True
        self._call(f"creating {name}", self.client.indices.create, index=name)
        return name, False

    def index_count(self, index: str) -> int:
        """Documents in one concrete index, after making everything sent searchable."""
        self._call(f"refreshing {index}", self.client.indices.refresh, index=index)
        return int(self._call(f"counting {index}", self.client.count, index=index)["count"])

    def switch_alias(self, new: str) -> list[str]:
        """Point the alias at `new` only, in one atomic step; delete and return the old indices."""
        old = list(self._call("reading aliases", self.client.indices.get_alias, name=self.alias))
        actions: list[dict[str, Any]] = [
            {"remove": {"index": index, "alias": self.alias}} for index in old if index != new
        ]
        actions.append({"add": {"index": new, "alias": self.alias, "is_write_index": True}})
        self._call("moving the alias", self.client.indices.update_aliases, actions=actions)
        stale = [index for index in old if index != new]
        if stale:
            self._call("deleting old indices", self.client.indices.delete, index=",".join(stale))
        return stale

    def refresh(self) -> None:
        """Make everything indexed so far searchable (tests and benchmarks)."""
        self._call("refresh", self.client.indices.refresh, index=self.alias)

    def info(self) -> str:
        """Server version, for messages and benchmarks."""
        return str(self._call("info", self.client.info)["version"]["number"])

    def count(self) -> int:
        """Documents behind the alias."""
        return int(self._call("count", self.client.count, index=self.alias)["count"])
