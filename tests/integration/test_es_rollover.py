"""Lifecycle on a real Elasticsearch API: policy, rollover through the alias, retention, replicas.

A cluster with ILM gets the policy installed and runs it itself; on one without (the
emulator) newsmon applies the same policy after each sync and in `newsmon es rollover`.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from peers import ElasticsearchTarget, newsmon

from connectors.elasticsearch import DEFAULT_TEMPLATE, SinkUnavailable
from connectors.es_sync import reindex
from newsmon.compose import open_store
from newsmon.settings import load_settings

pytestmark = pytest.mark.integration
SHIPPED_VERSION = json.loads(DEFAULT_TEMPLATE.read_text(encoding="utf-8"))["version"]


def _policy(tmp_path: Path, max_docs: int) -> Path:
    path = tmp_path / "lifecycle.json"
    body = {"phases": {"hot": {"actions": {"rollover": {"max_docs": max_docs}}}}}
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def _three_records(inbox: Path, host: str, sentence: str) -> Path:
    """Three distinct one-record JSON files at `host`, each a sentence (with {n}) repeated."""
    inbox.mkdir()
    for n in range(3):
        record = {"url": f"https://{host}/{n}", "text": sentence.format(n=n) * 8}
        (inbox / f"{n}.json").write_text(json.dumps(record), encoding="utf-8")
    return inbox


def test_rollover_through_the_alias_keeps_each_story_once_and_reindex_gathers_them(
    elasticsearch: ElasticsearchTarget, tmp_path: Path, seeds: Path
) -> None:
    policy = _policy(tmp_path, max_docs=3)
    env = {**elasticsearch.env(), "NEWSMON_ES_LIFECYCLE": str(policy)}
    alias = elasticsearch.alias
    sink = elasticsearch.sink(tmp_path, es_lifecycle=policy)
    ilm = sink.has_ilm()
    db = tmp_path / "store.db"

    setup = newsmon("es", "setup", db=db, env=env)
    assert setup.returncode == 0, setup.stderr
    assert f"writes to {alias}-000001" in setup.stdout
    assert f"template version {SHIPPED_VERSION} (new)" in setup.stdout
    assert ("ILM policy" if ilm else "this cluster has no ILM") in setup.stdout
    early = newsmon("es", "rollover", "--dry-run", db=db, env=env)
    assert early.returncode == 0, early.stderr
    if not ilm:
        assert f"not due: {alias}-000001 stays the write index ([max_docs: 3]=not met)" in (
            early.stdout
        )

    run = newsmon("run", str(seeds), db=db, env=env)
    assert run.returncode == 0, run.stderr
    assert "elasticsearch: 5 indexed, 0 pending" in run.stdout
    if not ilm:  # the sync after the run found 5 documents, over the policy's 3
        assert sink.write_index() == f"{alias}-000002"
    forced = newsmon("es", "rollover", "--now", "--json", db=db, env=env)
    assert forced.returncode == 0, forced.stderr
    report = json.loads(forced.stdout)
    assert report["rolled_over"] and report["new_index"] == sink.write_index()
    assert report["managed_by"] == ("ilm" if ilm else "newsmon")
    assert len(sink.indices()) == (2 if ilm else 3)

    # Stories sent again after the rollovers (a new copy, an alert) update the documents
    # where they are, so the alias still counts each story once.
    sink.refresh()
    stored = sink.client.search(index=alias, size=10)["hits"]["hits"]
    homes = {hit["_id"]: hit["_index"] for hit in stored}
    docs = [{**hit["_source"], "title": "updated"} for hit in stored]
    outcome = sink.index(docs)
    assert sorted(outcome.indexed) == sorted(homes) and not outcome.rejected
    sink.refresh()
    assert sink.count() == 5
    again = sink.client.search(index=alias, size=10)["hits"]["hits"]
    assert {hit["_id"]: hit["_index"] for hit in again} == homes
    assert {hit["_source"]["title"] for hit in again} == {"updated"}

    before = sink.indices()
    rebuilt = newsmon("es", "reindex", db=db, env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    new = f"{alias}-{len(before) + 1:06d}"
    assert f"reindexed: 5 stories into {new}, removed {', '.join(before)}" in rebuilt.stdout
    assert sink.indices() == [new] and sink.index_count(new) == 5


def test_retention_deletes_indices_once_their_successor_is_old_enough(
    elasticsearch: ElasticsearchTarget, tmp_path: Path
) -> None:
    sink = elasticsearch.sink(tmp_path, es_retention="1s")
    if sink.has_ilm():
        pytest.skip("the cluster's ILM applies retention on its own schedule, not on demand")
    sink.setup()
    sink.index([{"id": "a", "title": "x"}])
    alias = elasticsearch.alias
    env = {**elasticsearch.env(), "NEWSMON_ES_RETENTION": "1s"}
    db = tmp_path / "store.db"
    assert newsmon("es", "rollover", "--now", db=db, env=env).returncode == 0
    sink.index([{"id": "b", "title": "y"}])
    time.sleep(1.2)  # the retention runs from the rollover, the creation of -000002
    look = newsmon("es", "rollover", "--dry-run", db=db, env=env)
    assert f"would delete past retention: {alias}-000001" in look.stdout, look.stdout
    assert sink.indices() == [f"{alias}-000001", f"{alias}-000002"]
    applied = newsmon("es", "rollover", "--json", db=db, env=env)
    assert json.loads(applied.stdout)["deleted"] == [f"{alias}-000001"]
    assert sink.indices() == [f"{alias}-000002"]  # the write index stays, whatever its age
    assert sink.index_count(alias) == 1


def test_replicas_are_a_setting_applied_to_existing_indices(
    elasticsearch: ElasticsearchTarget, tmp_path: Path
) -> None:
    first = elasticsearch.sink(tmp_path, es_replicas=0)
    index = first.setup().index

    def replicas() -> str:
        found = first.client.indices.get_settings(index=index, flat_settings=True)
        return str(found[index]["settings"]["index.number_of_replicas"])

    assert replicas() == "0"
    elasticsearch.sink(tmp_path, es_replicas=2).setup()
    assert replicas() == "2"
    installed = first.client.indices.get_index_template(name=elasticsearch.alias)
    [template] = installed["index_templates"]
    assert template["index_template"]["version"] == SHIPPED_VERSION
    assert template["index_template"]["template"]["settings"]["index"]["number_of_replicas"] == "2"


def test_reindex_keep_old_leaves_the_old_index_off_the_alias(
    elasticsearch: ElasticsearchTarget, tmp_path: Path
) -> None:
    db = tmp_path / "store.db"
    inbox = _three_records(tmp_path / "inbox", "news.example.com", "خبر رقم {n} عن موسكو. ")
    assert newsmon("run", str(inbox), db=db, env=elasticsearch.env()).returncode == 0
    alias = elasticsearch.alias
    kept = newsmon("es", "reindex", "--keep-old", db=db, env=elasticsearch.env())
    assert kept.returncode == 0, kept.stderr
    assert f"reindexed: 3 stories into {alias}-000002, kept {alias}-000001" in kept.stdout
    sink = elasticsearch.sink(tmp_path)
    assert sink.indices() == [f"{alias}-000002"] and sink.index_count(alias) == 3
    assert sink.index_count(f"{alias}-000001") == 3  # still there, to go back to


@pytest.mark.real_elasticsearch("the emulator has no _ilm API: policies cannot be installed there")
def test_setup_installs_the_ilm_policy_and_attaches_it_to_the_index(
    elasticsearch: ElasticsearchTarget, tmp_path: Path
) -> None:
    sink = elasticsearch.sink(tmp_path, es_retention="400d")
    index = sink.setup().index
    policy = sink.client.ilm.get_lifecycle(name=elasticsearch.alias)[elasticsearch.alias]
    phases = policy["policy"]["phases"]
    assert set(phases["hot"]["actions"]["rollover"]) == {"max_primary_shard_size", "max_age"}
    assert phases["delete"]["min_age"] == "400d"
    found = sink.client.indices.get_settings(index=index, flat_settings=True)
    settings = found[index]["settings"]
    assert settings["index.lifecycle.name"] == elasticsearch.alias
    assert settings["index.lifecycle.rollover_alias"] == elasticsearch.alias


def test_reindex_leaves_out_stories_past_retention(
    elasticsearch: ElasticsearchTarget, tmp_path: Path, seeds: Path, store_location: str
) -> None:
    """Retention removed them from the cluster; a new index must not keep them another term."""
    db = store_location
    inbox = _three_records(tmp_path / "inbox", "old.example.com", "خبر قديم رقم {n} عن بكين. ")
    assert newsmon("run", str(inbox), db=db, env=elasticsearch.env()).returncode == 0
    assert newsmon("run", str(seeds), db=db, env=elasticsearch.env()).returncode == 0
    store = open_store(load_settings(db=db))
    try:
        read = sorted({a.ingested_at for a in store.iter_articles()})
        assert len(read) == 2  # one stamp per run
        # Retention of 1h, an hour after a moment between the two runs: the first is past it.
        now = read[0] + (read[1] - read[0]) / 2 + timedelta(hours=1)
        sink = elasticsearch.sink(tmp_path, es_retention="1h")
        result, new, _old = reindex(store, sink, now=now)
        assert (result.indexed, result.expired, result.pending) == (5, 3, 0)
        assert sink.index_count(new) == 5 and sink.index_count(sink.alias) == 5
        assert store.es_counts() == {"indexed": 5, "rejected": 0, "expired": 3, "pending": 0}
    finally:
        store.close()
    env = {**elasticsearch.env(), "NEWSMON_ES_RETENTION": "1h"}
    synced = newsmon("es", "sync", db=db, env=env)  # expired is not pending: nothing to send
    assert synced.returncode == 0 and "elasticsearch: 0 indexed, 0 pending" in synced.stdout
    status = newsmon("es", "status", db=db).stdout.split()
    assert status == ["expired=3", "indexed=5", "pending=0", "rejected=0"]


def test_the_alias_moves_back_when_the_new_index_answers_short(
    elasticsearch: ElasticsearchTarget, tmp_path: Path
) -> None:
    sink = elasticsearch.sink(tmp_path)
    old = sink.setup().index
    sink.index([{"id": i, "title": i} for i in ("a", "b", "c")])
    new, resumed = sink.reindex_target()
    assert not resumed
    sink.index([{"id": "a", "title": "a"}], index=new)  # a reindex that lost two stories
    with pytest.raises(
        SinkUnavailable,
        match=f"answered 1 documents, expected 3 or more; the alias is back on {old}",
    ):
        sink.switch_alias(new, expected=3)
    assert sink.indices() == [old] and sink.write_index() == old
    assert sink.index_count(sink.alias) == 3
    assert sink.client.indices.exists(index=new)  # kept, for a look at what went wrong
    sink.index([{"id": "d", "title": "d"}])  # and writes go to the old index again
    assert sink.index_count(old) == 4
