"""The Elasticsearch sink against a real Elasticsearch API: ELASTICSEARCH_URL, else noida-db."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fault_figures import FaultFigures
from peers import ElasticsearchTarget, TcpCut, newsmon

from connectors.es_status import StatusIndices
from newsmon.records import AlertRecord, AlertState, DeliveryState, DeliveryStatus, FeedState

pytestmark = pytest.mark.integration


def test_setup_is_idempotent_and_the_mapping_is_strict(
    elasticsearch: ElasticsearchTarget, tmp_path: Path
) -> None:
    sink = elasticsearch.sink(tmp_path)
    first = sink.setup()
    assert first.index == f"{elasticsearch.alias}-000001" and first.previous_version is None
    again = sink.setup()
    assert again.index == first.index
    assert again.previous_version == again.template_version == first.template_version
    outcome = sink.index([{"id": "a", "title": "عنوان"}, {"id": "b", "title": "x", "bogus": 1}])
    assert outcome.indexed == ["a"]
    [(doc_id, reason)] = outcome.rejected
    assert doc_id == "b" and reason.startswith("strict_dynamic_mapping_exception")


def test_setup_adds_new_template_fields_to_an_index_made_before_them(
    elasticsearch: ElasticsearchTarget, tmp_path: Path
) -> None:
    template = json.loads(Path(elasticsearch.template).read_text(encoding="utf-8"))
    del template["template"]["mappings"]["properties"]["event_id"]
    older = tmp_path / "older-template.json"
    older.write_text(json.dumps(template), encoding="utf-8")
    old_sink = dataclasses.replace(elasticsearch, template=older).sink(tmp_path)
    index = old_sink.setup().index
    assert old_sink.index([{"id": "a", "event_id": "e1"}]).rejected  # strict, no such field

    sink = elasticsearch.sink(tmp_path)
    assert sink.setup().index == index
    outcome = sink.index([{"id": "a", "event_id": "e1"}])
    assert outcome.indexed == ["a"] and not outcome.rejected


def test_a_run_indexes_each_story_once_with_its_entities(
    elasticsearch: ElasticsearchTarget, tmp_path: Path, seeds: Path
) -> None:
    db = tmp_path / "store.db"
    first = newsmon("run", str(seeds), db=db, env=elasticsearch.env())
    assert first.returncode == 0, first.stderr
    assert "elasticsearch: 5 indexed, 0 pending" in first.stdout
    again = newsmon("run", str(seeds), db=db, env=elasticsearch.env())
    assert again.returncode == 0 and "elasticsearch: 0 indexed, 0 pending" in again.stdout

    sink = elasticsearch.sink(tmp_path)
    sink.refresh()
    assert sink.count() == 5
    both = sink.client.count(
        index=elasticsearch.alias,
        query={
            "bool": {
                "filter": [{"term": {"entity_ids": "Q7747"}}, {"term": {"entity_ids": "Q15031"}}]
            }
        },
    )
    assert both["count"] == 5
    top = sink.client.search(
        index=elasticsearch.alias,
        size=0,
        aggs={"people": {"terms": {"field": "entity_ids", "size": 50}}},
    )
    buckets = {b["key"]: b["doc_count"] for b in top["aggregations"]["people"]["buckets"]}
    assert buckets["Q7747"] == buckets["Q15031"] == 5 and buckets["nm:yuri-ushakov"] == 1
    # Alerts are recorded before indexing: each document already names its rules.
    rules = sink.client.search(
        index=elasticsearch.alias,
        size=0,
        aggs={"rules": {"terms": {"field": "alert_rules"}}},
    )
    by_rule = {b["key"]: b["doc_count"] for b in rules["aggregations"]["rules"]["buckets"]}
    assert by_rule == {"putin-xi": 5, "russia-china-daily": 5}
    hit = sink.client.search(index=elasticsearch.alias, query={"match": {"title.norm": "الكرملين"}})
    assert hit["hits"]["hits"][0]["_source"]["title"].startswith("الكرملين")
    counts = newsmon("es", "status", db=db)
    assert counts.stdout.split() == ["expired=0", "indexed=5", "pending=0", "rejected=0"]

    # What the dashboards chart: a time for every story, the outlet, entities by type in
    # English and Arabic.
    seed = sink.client.search(
        index=elasticsearch.alias,
        query={"term": {"title.raw": hit["hits"]["hits"][0]["_source"]["title"]}},
    )["hits"]["hits"][0]["_source"]
    assert seed["published_from"] == "first-seen" and seed["published_at"] == seed["ingested_at"]
    assert seed["outlet"] == str(seeds)
    assert "Vladimir Putin · فلاديمير بوتين" in seed["people"]
    assert "Xi Jinping · شي جين بينغ" in seed["people"]
    assert "Russia · روسيا" in seed["places"] and "Kremlin" not in seed["places"]

    # The alerts index holds each alert once, however often a run syncs.
    alerts_index = elasticsearch.alias.removesuffix("-stories") + "-alerts"
    sink.client.indices.refresh(index=alerts_index)
    fired = sink.client.search(
        index=alerts_index,
        size=0,
        aggs={
            "rules": {"terms": {"field": "rule"}},
            "delivery": {"terms": {"field": "delivery_state"}},
        },
    )
    assert fired["hits"]["total"]["value"] == 10
    by_rule = {b["key"]: b["doc_count"] for b in fired["aggregations"]["rules"]["buckets"]}
    assert by_rule == {"putin-xi": 5, "russia-china-daily": 5}
    # No channel configured here: nothing to deliver.
    assert {b["key"] for b in fired["aggregations"]["delivery"]["buckets"]} == {"none"}


def test_a_run_of_several_batches_sends_status_and_the_template_once(
    elasticsearch: ElasticsearchTarget, tmp_path: Path, seeds: Path
) -> None:
    host, port = elasticsearch.url.removeprefix("http://").rsplit(":", 1)
    proxy = TcpCut((host, int(port)), bulks_allowed=10**6)
    proxy.listen()
    env = {
        **elasticsearch.env(),
        "NEWSMON_ELASTICSEARCH_URL": proxy.url,
        "NEWSMON_BATCH_SIZE": "2",  # the 5 seeds in 3 batches
        "NEWSMON_TASK_RUNNER": "threads",
    }
    run = newsmon("run", str(seeds), db=tmp_path / "store.db", env=env)
    assert run.returncode == 0, run.stderr
    assert "elasticsearch: 5 indexed, 0 pending" in run.stdout
    proxy.stop()
    base = elasticsearch.alias.removesuffix("-stories")
    templates = [
        path for method, path in proxy.requests if method == "PUT" and "_index_template/" in path
    ]
    # The stories template once, before the first batch; the status templates once, at the end.
    assert sorted(templates) == sorted(
        f"/_index_template/{name}"
        for name in (elasticsearch.alias, f"{base}-alerts", f"{base}-feeds")
    ), proxy.requests
    story_bulks = [path for _, path in proxy.requests if path.endswith("_bulk")]
    assert len(story_bulks) >= 3, proxy.requests  # each batch indexed as it is stored
    alerts_index = f"{base}-alerts"
    sink = elasticsearch.sink(tmp_path)
    sink.client.indices.refresh(index=alerts_index)
    assert sink.client.count(index=alerts_index)["count"] == 10  # every alert of the run


def test_nothing_is_lost_while_elasticsearch_is_down(
    elasticsearch: ElasticsearchTarget,
    tmp_path: Path,
    seeds: Path,
    store_location: str,
    fault_figures: FaultFigures,
) -> None:
    db = store_location
    down = {
        **elasticsearch.env(),
        "NEWSMON_ELASTICSEARCH_URL": "http://elastic:s3cret-pw@127.0.0.1:9",
        "NEWSMON_ES_MAX_RETRIES": "1",
        "NEWSMON_ES_TIMEOUT": "2",
    }
    run = newsmon("run", str(seeds), db=db, env=down)
    assert run.returncode == 0, run.stderr
    assert "5 stored" in run.stdout
    assert "5 stories kept in the store" in run.stderr
    assert "s3cret-pw" not in run.stderr + run.stdout  # no credentials in messages
    assert "http://127.0.0.1:9" in run.stderr
    assert newsmon("es", "status", db=db).stdout.split() == [
        "expired=0",
        "indexed=0",
        "pending=5",
        "rejected=0",
    ]
    failed_sync = newsmon("es", "sync", db=db, env=down)
    assert failed_sync.returncode == 2 and "5 pending" in failed_sync.stdout

    synced = newsmon("es", "sync", db=db, env=elasticsearch.env())
    assert synced.returncode == 0, synced.stderr
    assert "elasticsearch: 5 indexed, 0 pending" in synced.stdout
    assert newsmon("es", "sync", db=db, env=elasticsearch.env()).stdout.startswith(
        "elasticsearch: 0 indexed, 0 pending"
    )
    sink = elasticsearch.sink(tmp_path)
    sink.refresh()
    in_index = sink.count()
    backend = "PostgreSQL" if db.startswith("postgresql") else "SQLite"
    fault_figures.record(
        f"Elasticsearch down for a run, then sync ({backend})",
        tried=5,
        lost=max(5 - in_index, 0),
        doubled=max(in_index - 5, 0),
        crashes=int("Traceback" in run.stderr + failed_sync.stderr + synced.stderr),
    )
    assert in_index == 5


def test_one_malformed_document_is_recorded_and_the_rest_indexed(
    elasticsearch: ElasticsearchTarget, tmp_path: Path, seeds: Path
) -> None:
    # A mapping under which one story is malformed: source_domain as an IP address field.
    body = json.loads(elasticsearch.template.read_text("utf-8"))
    body["template"]["mappings"]["properties"]["source_domain"] = {"type": "ip"}
    strict = tmp_path / "ip-template.json"
    strict.write_text(json.dumps(body), encoding="utf-8")
    inbox = tmp_path / "inbox"
    shutil.copytree(seeds, inbox)
    (inbox / "record.json").write_text(
        json.dumps(
            {"url": "https://news.example.com/a", "text": "قال بوتين إن العقوبات فشلت. " * 5}
        ),
        encoding="utf-8",
    )
    db = tmp_path / "store.db"
    env = {**elasticsearch.env(), "NEWSMON_ES_TEMPLATE": str(strict)}
    run = newsmon("run", str(inbox), db=db, env=env)
    assert run.returncode == 1, run.stderr
    assert "elasticsearch: 5 indexed, 0 pending" in run.stdout
    refused = [line for line in run.stderr.splitlines() if line.startswith("rejected: ")]
    assert len(refused) == 1 and "https://news.example.com/a" in refused[0]
    assert "not indexed: document_parsing_exception" in refused[0]
    assert "source_domain" in refused[0]
    listed = newsmon("rejected", db=db).stdout
    assert "elasticsearch" in listed and "news.example.com" in listed
    assert newsmon("es", "status", db=db).stdout.split() == [
        "expired=0",
        "indexed=5",
        "pending=0",
        "rejected=1",
    ]


def test_reindex_builds_a_new_index_and_moves_the_alias(
    elasticsearch: ElasticsearchTarget, tmp_path: Path, seeds: Path
) -> None:
    db = tmp_path / "store.db"
    assert newsmon("run", str(seeds), db=db, env=elasticsearch.env()).returncode == 0
    result = newsmon("es", "reindex", db=db, env=elasticsearch.env())
    assert result.returncode == 0, result.stderr
    alias = elasticsearch.alias
    assert f"reindexed: 5 stories into {alias}-000002, removed {alias}-000001" in result.stdout
    sink = elasticsearch.sink(tmp_path)
    assert sink.write_index() == f"{alias}-000002"
    sink.refresh()
    assert sink.count() == 5


def test_an_interrupted_reindex_is_resumed_and_the_alias_moves_when_counts_match(
    elasticsearch: ElasticsearchTarget, tmp_path: Path, seeds: Path
) -> None:
    db = tmp_path / "store.db"
    assert newsmon("run", str(seeds), db=db, env=elasticsearch.env()).returncode == 0
    alias = elasticsearch.alias
    sink = elasticsearch.sink(tmp_path)
    # What a reindex stopped mid-way leaves: its new index, with one document of five.
    left, resumed = sink.reindex_target()
    assert (left, resumed) == (f"{alias}-000002", False)
    sink.client.index(index=left, id="partial", document={"id": "partial", "title": "x"})
    result = newsmon("es", "reindex", db=db, env=elasticsearch.env())
    # The partial document is not a story: the counts differ and the alias stays.
    assert result.returncode == 2, result.stdout
    assert f"{left} holds 6 documents, expected 5" in result.stderr
    assert sink.write_index() == f"{alias}-000001"
    sink.client.delete(index=left, id="partial")
    again = newsmon("es", "reindex", db=db, env=elasticsearch.env())
    assert again.returncode == 0, again.stderr
    assert f"reindexed: 5 stories into {left}, removed {alias}-000001" in again.stdout
    assert sink.write_index() == left and sink.index_count(left) == 5


@pytest.mark.real_elasticsearch(
    "Lucene's Arabic analysis (arabic_normalization, the light stemmer): the emulator lacks "
    "the filter and stems Arabic differently"
)
def test_arabic_analysis_matches_inflected_and_unnormalised_forms(
    elasticsearch: ElasticsearchTarget, tmp_path: Path, seeds: Path
) -> None:
    db = tmp_path / "store.db"
    assert newsmon("run", str(seeds), db=db, env=elasticsearch.env()).returncode == 0
    sink = elasticsearch.sink(tmp_path)
    sink.refresh()

    def hits(field: str, query: str) -> int:
        found = sink.client.count(index=elasticsearch.alias, query={"match": {field: query}})
        return int(found["count"])

    assert hits("text", "الرؤساء") >= 1  # stemmed: plural finds رئيس/الرئيس
    assert hits("text.norm", "اوكرانيا") == hits("text.norm", "أوكرانيا") >= 1  # hamza folded


def test_elasticsearch_stopped_mid_sync_then_back_gets_every_story_once(
    elasticsearch: ElasticsearchTarget, tmp_path: Path, fixtures: Path, fault_figures: FaultFigures
) -> None:
    db = tmp_path / "store.db"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixtures / "dedup" / "devset.ndjson", inbox / "devset.ndjson")
    stored = newsmon("run", str(inbox), db=db)  # no Elasticsearch yet: all pending
    assert stored.returncode == 0, stored.stderr
    total = int(newsmon("es", "status", db=db).stdout.split()[2].removeprefix("pending="))
    assert total > 100

    host, port = elasticsearch.url.removeprefix("http://").rsplit(":", 1)
    proxy = TcpCut((host, int(port)), bulks_allowed=3)
    proxy.listen()
    env = {
        **elasticsearch.env(),
        "NEWSMON_ELASTICSEARCH_URL": proxy.url,
        "NEWSMON_ES_BATCH_SIZE": "10",
        "NEWSMON_ES_CONCURRENCY": "1",
        "NEWSMON_ES_MAX_RETRIES": "1",
        "NEWSMON_ES_TIMEOUT": "5",
    }
    cut = newsmon("es", "sync", db=db, env=env)
    assert proxy.cut.is_set() and cut.returncode == 2, cut.stdout + cut.stderr
    status = newsmon("es", "status", db=db).stdout.split()
    indexed_before = int(status[1].removeprefix("indexed="))
    assert 0 < indexed_before < total, status

    proxy.bulks_allowed = 10**6
    proxy.listen()  # back, on the same port
    back = newsmon("es", "sync", db=db, env=env)
    assert back.returncode == 0, back.stderr
    sink = elasticsearch.sink(tmp_path)
    sink.refresh()
    in_index = sink.count()
    fault_figures.record(
        "Elasticsearch stopped mid-sync, then back",
        tried=total,
        lost=max(total - in_index, 0),
        doubled=max(in_index - total, 0),
        crashes=int("Traceback" in cut.stderr + back.stderr),
    )
    assert newsmon("es", "status", db=db).stdout.split() == [
        "expired=0",
        f"indexed={total}",
        "pending=0",
        "rejected=0",
    ]
    assert in_index == total  # document ids are article ids: a resent story replaces itself


def test_alert_delivery_and_feed_health_reach_their_indices(
    elasticsearch: ElasticsearchTarget, tmp_path: Path
) -> None:
    sink = elasticsearch.sink(tmp_path)
    status = StatusIndices(sink)
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)

    def delivery(channel: str, state: DeliveryState, error: str | None = None) -> DeliveryStatus:
        sent = now if state is DeliveryState.SENT else None
        return DeliveryStatus(1, channel, "x", state, 2, error, sent, None)

    alert = AlertRecord(
        7, "putin-xi", "a1", "a1", "شي وبوتين", now, "r1", AlertState.QUEUED,
        (delivery("email", DeliveryState.SENT), delivery("slack", DeliveryState.PENDING, "503")),
    )  # fmt: skip
    quiet = FeedState("tass", "https://tass.example/rss", last_status="fetched", polls=40,
                      first_poll_at=now - timedelta(hours=30))  # fmt: skip
    broken = FeedState("rt", "https://rt.example/rss", last_status="failed", failures=3,
                       last_error="HTTP 503", last_new_at=now - timedelta(hours=2))  # fmt: skip
    status.setup()
    status.setup()  # idempotent: templates replaced, indices kept
    first = status.send([alert], [], [quiet, broken], now)
    assert len(first.indexed) == 3 and not first.rejected
    delivered = dataclasses.replace(alert, deliveries=(delivery("email", DeliveryState.SENT),) * 2)
    assert len(status.send([delivered], [], [quiet, broken], now).indexed) == 3

    for index in (status.alerts.name, status.feeds.name):
        sink.client.indices.refresh(index=index)
    [doc] = [h["_source"] for h in sink.client.search(index=status.alerts.name)["hits"]["hits"]]
    assert (doc["id"], doc["delivery_state"], doc["channels"]) == ("story-7", "sent", ["email"])
    feeds = {
        h["_source"]["name"]: h["_source"]
        for h in sink.client.search(index=status.feeds.name)["hits"]["hits"]
    }
    assert feeds["tass"]["healthy"] and feeds["tass"]["quiet_hours"] == 30.0
    assert not feeds["rt"]["healthy"] and feeds["rt"]["last_error"] == "HTTP 503"
    unhealthy = sink.client.count(index=status.feeds.name, query={"term": {"healthy": False}})
    assert unhealthy["count"] == 1
