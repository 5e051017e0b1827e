"""The article store and run log contract: storing once, sources, search, entities."""

import multiprocessing
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from enrich.arabic import normalize_text
from enrich.article import build_article
from enrich.boilerplate import clean_text, load_rules
from enrich.dedup import DedupParams, fingerprinter_for, rebuild_stories, store_stories
from enrich.entities import tag_articles, tagger_for
from newsmon.compose import StoreConfig
from newsmon.export import article_json
from newsmon.records import Article, CleanItem, Rejection, RunSummary, StoreResult
from newsmon.search import find
from newsmon.store.base import Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _article(text: str, source: str = "a.txt", title: str = "عنوان") -> Article:
    return build_article(CleanItem(source, title, text, "utf-8"), NOW)


def _add(store: Store, articles: list[Article], run: str) -> StoreResult:
    fingerprinter = fingerprinter_for(DedupParams())
    fps = [fingerprinter.fingerprint(a) for a in articles]
    return store_stories(store, fps, run, DedupParams())


def test_adding_twice_stores_once_and_remembers_every_source(store: Store) -> None:
    run = store.begin_run(["x"])
    first = _article("وأكد الرئيس الروسي فلاديمير بوتين دعمه.", "one.txt")
    again = _article("وأكّد الرئيس الروسيّ فلاديمير بوتين دعمه.", "two.txt")  # diacritics only
    other = _article("قال وزير الخارجية الصيني وانغ يي.", "three.txt")
    result = _add(store, [first, again, other], run)
    assert result.new_ids == [first.id, other.id]
    assert result.known_ids == [first.id]
    assert _add(store, [first], run).known_ids == [first.id]
    assert store.count_articles() == 2
    assert store.sources_of(first.id) == ["one.txt", "two.txt"]
    assert [a.id for a in store.iter_articles()] == [first.id, other.id]
    stored = next(store.iter_articles())
    assert stored.text == first.text and stored.cluster_id == first.id


def test_rejections_and_runs_are_recorded(store: Store) -> None:
    run = store.begin_run(["in"])
    store.add_rejections(run, [Rejection("bad.txt", "decode", "empty file")])
    store.finish_run(RunSummary(run, 1, 0, 0, [Rejection("bad.txt", "decode", "empty file")], 0.1))
    assert store.last_run_id() == run
    [record] = store.rejections(run)
    assert (record.source, record.stage, record.reason) == ("bad.txt", "decode", "empty file")
    assert store.rejections("other-run") == []


def test_search_is_arabic_aware(store: Store) -> None:
    run = store.begin_run([])
    putin = _article("وأكّد الرئيسُ بوتين أنّ العلاقات مع الصين في أفضل حالاتها.", "p.txt")
    lavrov = _article("وصل لافروف إلى بكين للقاء وانغ يي.", "l.txt", title="لافروف في بكين")
    _add(store, [putin, lavrov], run)
    assert [h.id for h in find(store, "اكد الرئيس")] == [putin.id]  # diacritics, hamza
    assert [h.id for h in find(store, "بوتين")] == [putin.id]  # clitic و on the document side
    assert [h.id for h in find(store, "والعلاقات")] == [putin.id]  # clitic on the query side
    assert [h.id for h in find(store, "الصين")] == [putin.id]
    assert [h.id for h in find(store, "بكين")] == [lavrov.id]
    assert find(store, "بوتين لافروف") == []  # every word must match
    assert find(store, '"') == []  # nothing searchable, no FTS syntax error
    hit = find(store, "بكين")[0]
    assert hit.title == "لافروف في بكين" and "بكين" in hit.snippet


def test_entities_are_stored_exported_and_searchable(store: Store) -> None:
    run = store.begin_run([])
    tagger = tagger_for(None)
    texts = {
        "both.txt": "التقى بوتين الرئيس شي جين بينغ في موسكو.",
        "putin.txt": "قال بوتين إن العقوبات فشلت.",
        "xi.txt": "زار شي جين بينغ هونغ كونغ.",
    }
    articles = tag_articles([_article(t, name) for name, t in texts.items()], tagger).items
    _add(store, articles, run)
    stored = {Path(a.source).name: a for a in store.iter_articles()}
    assert stored["both.txt"].entities == articles[0].entities
    assert [t.id for t in stored["both.txt"].entities] == ["Q7747", "Q15031", "Q649"]
    record = article_json(stored["xi.txt"], [])
    assert record["entities"][0] == {
        "id": "Q15031",
        "label": "شي جين بينغ",
        "type": "person",
        "mentions": [{"start": 4, "end": 15, "text": "شي جين بينغ", "field": "text"}],
    }

    def names(query: str, *entity_ids: str) -> list[str]:
        return sorted(Path(h.source).name for h in find(store, query, 10, entity_ids))

    assert names("", "Q7747") == ["both.txt", "putin.txt"]
    assert names("", "Q7747", "Q15031") == ["both.txt"]
    assert names("العقوبات", "Q7747") == ["putin.txt"]
    assert names("العقوبات", "Q15031") == []
    assert "هونغ كونغ" in find(store, "", 10, ["Q8646"])[0].snippet

    store.es_mark([a.id for a in articles], [])
    assert store.es_counts()["pending"] == 0
    store.replace_entities([replace(stored["putin.txt"], entities=())])
    assert names("", "Q7747") == ["both.txt"]
    # Elasticsearch holds the old entities: the re-tagged story is to be sent again.
    assert [a.id for a in store.es_pending(10)] == [stored["putin.txt"].id]
    rebuild_stories(store, DedupParams())
    assert store.es_counts()["pending"] == 3  # relinked: story fields may have changed


def _write_all(config: StoreConfig, texts: list[str], queue: "multiprocessing.Queue[int]") -> None:
    store = config.open()
    run = store.begin_run([])
    stored = 0
    for text in texts:
        stored += len(_add(store, [_article(text)], run).new_ids)
    queue.put(stored)


def test_two_processes_storing_the_same_stories_store_each_once(store_config: StoreConfig) -> None:
    texts = [f"خبر رقم {n} عن العلاقات الروسية الصينية." for n in range(200)]
    store_config.open().close()
    # spawn, not fork: a forked child inherits Prefect's threads when other tests ran first.
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_write_all, args=(store_config, texts, queue)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert queue.get() + queue.get() == 200
    store = store_config.open()
    assert store.count_articles() == 200
    assert normalize_text(texts[0]) in {a.text_norm for a in store.iter_articles()}
    store.close()


def test_headline_mentions_are_stored_with_their_field(store: Store) -> None:
    article = _article("وصل الرئيس إلى المدينة صباح اليوم.", title="بوتين يزور بكين")
    (tagged,) = tag_articles([article], tagger_for(None)).items
    _add(store, [tagged], store.begin_run([]))
    (stored,) = store.iter_articles()
    assert stored.entities == tagged.entities
    putin = next(t for t in stored.entities if t.id == "Q7747")
    assert [(m.field, m.start, m.end) for m in putin.mentions] == [("title", 0, 5)]
    record = article_json(stored, [])
    assert {"start": 0, "end": 5, "text": "بوتين", "field": "title"} in [
        m for e in record["entities"] for m in e["mentions"]
    ]


def _store_copies(config: StoreConfig, texts: list[str], tag: str) -> None:
    store = config.open()
    run = store.begin_run([])
    for n, text in enumerate(texts):
        _add(store, [_article(text, f"{tag}-{n}")], run)
    store.close()


def test_two_processes_storing_copies_of_one_story_make_one_story(
    store_config: StoreConfig, seeds: Path
) -> None:
    raw = (seeds / "004_195d63a88f2e261d.txt").read_text("utf-8")
    _, base = clean_text(raw, load_rules())
    datelines = ["بكين - شينخوا: ", "موسكو - سبوتنيك. ", "(د ب أ) - ", "بكين - رويترز: "]
    copies = [f"{d}{base}\nالتحديث رقم {n}" for n, d in enumerate(datelines * 5)]
    store_config.open().close()
    context = multiprocessing.get_context("spawn")  # a real second worker process
    workers = [
        context.Process(target=_store_copies, args=(store_config, copies[i::2], f"w{i}"))
        for i in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    store = store_config.open()
    articles = list(store.iter_articles())
    store.close()
    # Linked in first-seen order whichever process stored first: one story, one first copy.
    assert len(articles) == 20
    assert len({a.cluster_id for a in articles}) == 1
    assert sum(a.duplicate_of is None for a in articles) == 1
