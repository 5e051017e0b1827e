"""Elasticsearch sink on the official client: template and alias setup, bulk indexing, reindex.

Documents are written through a write alias (`es_alias`) onto numbered indices
(`<alias>-000001`, ...), so `reindex` can build a new index from the store and swap the
alias in one atomic step. `_id` is the article id: sending a document again updates it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers
from pydantic import SecretStr

from connectors.es_lifecycle import LifecyclePolicy
from newsmon.errors import ExternalError
from newsmon.export import article_json
from newsmon.outlet import outlet
from newsmon.packaged import packaged
from newsmon.records import Article, as_utc
from newsmon.secret_urls import redact

log = logging.getLogger("newsmon.elasticsearch")

DEFAULT_TEMPLATE = packaged("stories-template.json")
# Item statuses worth sending again later: too many requests and server-side failures.
_RETRY_LATER = {429, 500, 502, 503, 504}
_ENTITY_FIELDS = (("people", "person"), ("places", "place"), ("organisations", "org"))
# How a cluster without index lifecycle management answers its API: no such handler
# (400, the emulator), not found, or gone (410, serverless).
_NO_ILM = {400, 404, 410}


@dataclass(frozen=True, slots=True)
class ElasticsearchConfig:
    """Where and how to index: the cluster, its credentials, the alias and bulk sizes."""

    url: str
    alias: str
    template: Path | None
    lifecycle: Path | None
    replicas: int
    retention: str | None
    batch_size: int
    concurrency: int
    timeout: float
    max_retries: int
    api_key: SecretStr | None
    username: str | None
    password: SecretStr | None
    ca_certs: Path | None
    verify_certs: bool
    # Where the English and Arabic entity names come from (None: the shipped gazetteer).
    gazetteer: Path | None = None


class SinkUnavailable(ExternalError):
    """Elasticsearch could not be reached or refused the whole request; nothing was lost."""


@dataclass(frozen=True, slots=True)
class SetupReport:
    """What setup left: the write index, the template version before and now, who rolls over."""

    index: str
    template_version: int | None
    previous_version: int | None
    lifecycle: str  # "ilm": the cluster applies the policy; "newsmon": newsmon does


@dataclass(slots=True)
class IndexOutcome:
    """What one bulk pass did with each document."""

    indexed: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (id, Elasticsearch's reason)
    retry_later: list[str] = field(default_factory=list)


def es_document(
    article: Article,
    sources: Sequence[str],
    alert_rules: Sequence[str] = (),
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The indexed document: the export record plus keyword fields for filters and charts.

    `published_at` is the story time (publication, else first seen: every story has one
    for the dashboards' time field); `published_from` says which. People, places and
    organisations (and entity_names, all three) get their English · Arabic names from
    `names` (else the stored label).
    """
    doc = article_json(article, list(sources))
    doc["published_at"] = article.story_time().isoformat()
    published = article.published_at
    dated = published is not None and as_utc(published) <= as_utc(article.ingested_at)
    doc["published_from"] = "page" if dated else "first-seen"
    doc["alert_rules"] = list(alert_rules)
    doc["first_copy"] = article.duplicate_of is None
    doc["entity_ids"] = [tag.id for tag in article.entities]
    doc["entity_labels"] = [tag.label for tag in article.entities]
    named = [(tag.type, (names or {}).get(tag.id, tag.label)) for tag in article.entities]
    doc["entity_names"] = [name for _type, name in named]
    for field_name, entity_type in _ENTITY_FIELDS:
        doc[field_name] = [name for t, name in named if t == entity_type]
    host = urlsplit(article.url).hostname if article.url else None
    doc["source_domain"] = host.removeprefix("www.") if host else None
    doc["outlet"] = outlet(article.url or article.source)
    return doc


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        caused = error.get("caused_by")
        return f"{reason} (caused by {_reason(caused)})" if caused else reason
    return str(error)


class ElasticsearchSink:
    """Writes stories to Elasticsearch; one instance per run or command."""

    def __init__(
        self,
        config: ElasticsearchConfig,
        client: Elasticsearch | None = None,
        entity_names: Mapping[str, str] | None = None,
    ) -> None:
        self.url = redact(config.url)
        self.entity_names = entity_names or {}
        self.alias = config.alias
        self.template_path = config.template or DEFAULT_TEMPLATE
        self.lifecycle_path = config.lifecycle
        self.replicas = config.replicas
        self.retention = config.retention
        self._ilm: bool | None = None
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

    def template(self, ilm: bool = False) -> dict[str, Any]:
        """The index template body from its JSON file, with replicas and (given ILM) the
        lifecycle policy set."""
        try:
            body: dict[str, Any] = json.loads(self.template_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.template_path}: cannot read index template: {exc}") from exc
        body["index_patterns"] = [f"{self.alias}-*"]
        body["template"].setdefault("settings", {}).update(self._index_settings(ilm))
        return body

    def _index_settings(self, ilm: bool) -> dict[str, Any]:
        settings: dict[str, Any] = {"index.number_of_replicas": self.replicas}
        if ilm:
            settings["index.lifecycle.name"] = self.alias
            settings["index.lifecycle.rollover_alias"] = self.alias
        return settings

    def policy(self) -> LifecyclePolicy:
        """The lifecycle policy (file and retention setting); ValueError names a bad file."""
        return LifecyclePolicy.load(self.lifecycle_path, self.retention)

    def has_ilm(self) -> bool:
        """Whether the cluster runs index lifecycle management (asked once per sink)."""
        if self._ilm is None:
            try:
                self.client.ilm.get_status()
                self._ilm = True
            except ApiError as exc:
                if exc.status_code not in _NO_ILM:
                    raise SinkUnavailable(f"{self.url}: asking for ILM failed: {exc}") from exc
                self._ilm = False
            except TransportError as exc:
                raise SinkUnavailable(f"{self.url}: asking for ILM failed: {exc}") from exc
        return self._ilm

    def template_version(self) -> int | None:
        """The version of the index template installed on the cluster; None: none there."""
        try:
            found = self.client.indices.get_index_template(name=self.alias)
        except NotFoundError:
            return None
        except (TransportError, ApiError) as exc:
            raise SinkUnavailable(f"{self.url}: reading the index template failed: {exc}") from exc
        versions = [t["index_template"].get("version") for t in found["index_templates"]]
        return versions[0] if versions else None

    def setup(self) -> SetupReport:
        """Install the lifecycle policy (given ILM) and the index template; create the first
        index behind the alias if none exists. Safe to call on every run."""
        policy = self.policy()
        ilm = self.has_ilm()
        if ilm:
            self._call(
                "installing the lifecycle policy",
                self.client.ilm.put_lifecycle,
                name=self.alias,
                policy=policy.body,
            )
        template = self.template(ilm)
        previous = self.template_version()
        self._call(
            "installing the index template",
            self.client.indices.put_index_template,
            name=self.alias,
            **template,
        )
        report = SetupReport(
            index="",
            template_version=template.get("version"),
            previous_version=previous,
            lifecycle="ilm" if ilm else "newsmon",
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
            return dataclasses.replace(report, index=first)
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
        self._settle_index_settings(ilm)
        return dataclasses.replace(report, index=index)

    def _settle_index_settings(self, ilm: bool) -> None:
        # Indices made before a change of NEWSMON_ES_REPLICAS (or before the policy) get
        # it in place: both settings are dynamic. Written only when they differ, so a
        # routine run does not update the cluster state.
        wanted = {k: str(v) for k, v in self._index_settings(ilm).items()}
        current = self._call(
            "reading index settings",
            self.client.indices.get_settings,
            index=self.alias,
            flat_settings=True,
        )
        stale = [
            index
            for index, body in current.body.items()
            if any(body["settings"].get(k) != v for k, v in wanted.items())
        ]
        if stale:
            self._call(
                f"setting replicas and lifecycle on {', '.join(stale)}",
                self.client.indices.put_settings,
                index=",".join(stale),
                settings=wanted,
            )

    def install_template(self, name: str, body: dict[str, Any]) -> None:
        """Install (or replace) one index template under `name`."""
        self._call(
            f"installing the index template {name}",
            self.client.indices.put_index_template,
            name=name,
            **body,
        )

    def ensure_index(self, index: str, properties: dict[str, Any]) -> None:
        """Create a plain index (its template applies), or add the template's new fields."""
        if self._call(f"looking for {index}", self.client.indices.exists, index=index):
            self._call(
                f"adding the template's new fields to {index}",
                self.client.indices.put_mapping,
                index=index,
                properties=properties,
            )
        else:
            self._call(f"creating {index}", self.client.indices.create, index=index)

    def write_index(self) -> str:
        """The concrete index the alias writes to."""
        aliases = self._call("reading aliases", self.client.indices.get_alias, name=self.alias)
        for index, body in aliases.body.items():
            if body["aliases"][self.alias].get("is_write_index", len(aliases.body) == 1):
                return str(index)
        raise SinkUnavailable(f"{self.url}: alias {self.alias} has no write index")

    def indices(self) -> list[str]:
        """The concrete indices behind the alias, oldest first."""
        aliases = self._call("reading aliases", self.client.indices.get_alias, name=self.alias)
        return sorted(aliases.body)

    def _homes(self, ids: list[str]) -> dict[str, str]:
        # After a rollover, a story sent again (a new copy, an alert) must update the
        # document where it already is: written through the alias it would land in the
        # new write index too, and count twice.
        found = self._call(
            "finding documents written before the last rollover",
            self.client.search,
            index=self.alias,
            query={"ids": {"values": ids}},
            source=False,
            size=len(ids),
        )
        return {hit["_id"]: hit["_index"] for hit in found["hits"]["hits"]}

    def _bulk(self, index: str, docs: list[dict[str, Any]], locate: bool) -> IndexOutcome:
        outcome = IndexOutcome()
        homes = self._homes([d["id"] for d in docs]) if locate else {}
        actions = (
            {"_index": homes.get(d["id"], index), "_id": d["id"], "_source": d} for d in docs
        )
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
        locate = index is None and len(self.indices()) > 1
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
            for outcome in pool.map(lambda chunk: self._bulk(target, chunk, locate), chunks):
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

    def switch_alias(self, new: str, expected: int, keep_old: bool = False) -> list[str]:
        """Point the alias at `new` only, in one atomic step; returns the old indices.

        The old indices are deleted only once the alias answers with `expected` documents
        (and not with `keep_old`). If it does not, the alias goes back to them, and
        SinkUnavailable says why.
        """
        old_write = self.write_index()
        old = [index for index in self.indices() if index != new]
        moved: list[dict[str, Any]] = [
            {"remove": {"index": index, "alias": self.alias}} for index in old
        ]
        moved.append({"add": {"index": new, "alias": self.alias, "is_write_index": True}})
        self._call("moving the alias", self.client.indices.update_aliases, actions=moved)
        held = self.index_count(self.alias)
        if held < expected:  # more is a run writing meanwhile, not a loss
            back: list[dict[str, Any]] = [{"remove": {"index": new, "alias": self.alias}}]
            back += [
                {"add": {"index": i, "alias": self.alias, "is_write_index": i == old_write}}
                for i in old
            ]
            self._call("moving the alias back", self.client.indices.update_aliases, actions=back)
            raise SinkUnavailable(
                f"{self.url}: through the alias {new} answered {held} documents, expected"
                f" {expected} or more; the alias is back on {', '.join(old)}, which are kept"
            )
        if old and not keep_old:
            self._call("deleting old indices", self.client.indices.delete, index=",".join(old))
        return old

    def rollover(self, conditions: dict[str, Any] | None, dry_run: bool) -> dict[str, Any]:
        """Ask the cluster to roll the alias over (when `conditions` hold; None: at once)."""
        if conditions:  # max_docs counts searchable documents only
            self.refresh()
        return dict(
            self._call(
                "rolling the alias over",
                self.client.indices.rollover,
                alias=self.alias,
                conditions=conditions,
                dry_run=dry_run,
            ).body
        )

    def created_at(self) -> dict[str, datetime]:
        """When each index behind the alias was created."""
        found = self._call(
            "reading index creation dates",
            self.client.indices.get_settings,
            index=self.alias,
            name="index.creation_date",
            flat_settings=True,
        )
        return {
            index: datetime.fromtimestamp(int(body["settings"]["index.creation_date"]) / 1000, UTC)
            for index, body in found.body.items()
        }

    def delete(self, indices: Sequence[str]) -> None:
        """Delete whole indices (lifecycle retention on a cluster without ILM)."""
        self._call(
            f"deleting {', '.join(indices)}", self.client.indices.delete, index=",".join(indices)
        )

    def refresh(self) -> None:
        """Make everything indexed so far searchable (tests and benchmarks)."""
        self._call("refresh", self.client.indices.refresh, index=self.alias)

    def info(self) -> str:
        """Server version, for messages and benchmarks."""
        return str(self._call("info", self.client.info)["version"]["number"])

    def count(self) -> int:
        """Documents behind the alias."""
        return int(self._call("count", self.client.count, index=self.alias)["count"])
