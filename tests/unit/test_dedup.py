from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from enrich.arabic import normalize_text
from enrich.article import build_article
from enrich.boilerplate import clean_text, load_rules
from enrich.dedup import (
    DedupParams,
    Fingerprinter,
    containment,
    fingerprinter_for,
    link_story,
    rebuild_stories,
    shingles,
    store_stories,
)
from enrich.dedup_quality import evaluate, pairwise_scores
from newsmon.compose import StoreConfig
from newsmon.errors import StoreError
from newsmon.ids import article_id, canonical_url
from newsmon.records import Article, CleanItem, StoreResult
from newsmon.store.base import Store

NOW = datetime(2026, 11, 21, tzinfo=UTC)
PARAMS = DedupParams()


def _article(text: str, source: str) -> Article:
    return build_article(CleanItem(source, "عنوان", text, "utf-8"), NOW)


def _seed_article(seeds: Path, name: str) -> Article:
    title, text = clean_text((seeds / name).read_text("utf-8"), load_rules())
    return build_article(CleanItem(name, title, text, "utf-8"), NOW)


def _store(tmp_path: Path) -> Store:
    return StoreConfig(str(tmp_path / "s.db")).open()


def _add(store: Store, articles: list[Article], params: DedupParams = PARAMS) -> StoreResult:
    fingerprinter = fingerprinter_for(params)
    run = store.begin_run([])
    return store_stories(store, [fingerprinter.fingerprint(a) for a in articles], run, params)


def _clusters(store: Store) -> dict[str, tuple[str | None, str | None]]:
    return {a.source: (a.cluster_id, a.duplicate_of) for a in store.iter_articles()}


def test_shingles() -> None:
    assert shingles("قال بوتين إن روسيا", "word", 3) == {"قال بوتين إن", "بوتين إن روسيا"}
    assert shingles("a b", "word", 3) == {"a b"}
    assert shingles("", "word", 3) == frozenset()
    assert shingles("abcd", "char", 3) == {"abc", "bcd"}


def test_containment() -> None:
    a, b = frozenset("abcd"), frozenset("abcdefgh")
    assert containment(a, b) == containment(b, a) == 1.0
    assert containment(frozenset("ab"), frozenset("cd")) == 0.0
    assert containment(frozenset(), b) == 0.0


def test_band_keys_are_the_same_in_every_fingerprinter(seeds: Path) -> None:
    article = _seed_article(seeds, "004_195d63a88f2e261d.txt")
    first, second = Fingerprinter(PARAMS), Fingerprinter(PARAMS)
    keys = first.fingerprint(article).band_keys
    assert keys == second.fingerprint(article).band_keys
    assert len(keys) == first.bands and first.bands * first.rows <= PARAMS.num_perm
    assert first.layout == second.layout == "word3:w20000:xxh32:perm128:seed1:37x3"


def test_headline_only_texts_are_never_linked(tmp_path: Path) -> None:
    store = _store(tmp_path)
    short = [
        "بوتين يلتقي شي في موسكو",
        "بوتين يلتقي شي في بكين",
        "بوتين يلتقي شي",
        "12 13 14",
    ]
    assert len(_add(store, [_article(t, f"s{i}") for i, t in enumerate(short)]).new_ids) == 4
    for article in store.iter_articles():
        assert (article.cluster_id, article.duplicate_of) == (article.id, None)


def test_latin_and_number_heavy_texts_link_only_when_near_identical(tmp_path: Path) -> None:
    store = _store(tmp_path)
    table = " ".join(f"row {n} value {n * 7} total {n * 13}" for n in range(40))
    other_table = " ".join(f"row {n} value {n * 11} total {n * 17}" for n in range(40))
    english = (
        "Vladimir Putin and Xi Jinping spoke by phone on Friday and pledged to deepen "
        "cooperation in energy, trade and security, the Kremlin said in a statement."
    )
    _add(store, [_article(table, "t1"), _article(other_table, "t2"), _article(english, "e1")])
    _add(store, [_article("MOSCOW (Reuters) - " + english, "e2")])
    clusters = _clusters(store)
    assert clusters["t1"][0] != clusters["t2"][0]
    assert clusters["e2"] == (clusters["e1"][0], clusters["e1"][0])


def test_topical_seeds_stay_separate_stories(tmp_path: Path, seeds: Path) -> None:
    store = _store(tmp_path)
    articles = [_seed_article(seeds, p.name) for p in sorted(seeds.glob("*.txt"))]
    _add(store, articles)
    assert len({cluster for cluster, _ in _clusters(store).values()}) == 5


def test_copies_join_the_first_seen_story(tmp_path: Path, seeds: Path) -> None:
    original = _seed_article(seeds, "002_78f173c836337b59.txt")
    paragraphs = original.text.splitlines()
    cut = _article("\n".join(paragraphs[:2]), "cut")  # last paragraphs cut
    edited = _article(
        "بكين - رويترز: " + "\n".join(paragraphs) + "\nاقرأ أيضا: قمة بريكس المقبلة", "edited"
    )
    store = _store(tmp_path)
    _add(store, [original])
    _add(store, [cut, edited])
    clusters = _clusters(store)
    assert clusters["cut"] == (original.id, original.id)
    assert clusters["edited"][0] == original.id
    stories = store.stories()
    assert [len(s.copies) for s in stories] == [3]
    assert stories[0].copies[0].id == original.id
    assert 0.7 <= min(c.similarity or 1 for c in stories[0].copies) <= 1.0


def test_a_batch_shingles_a_stored_story_once(tmp_path: Path, seeds: Path) -> None:
    original = _seed_article(seeds, "002_78f173c836337b59.txt")
    paragraphs = original.text.splitlines()
    copies = [
        _article("\n".join(paragraphs[:2]), "cut"),
        _article("بكين - رويترز: " + "\n".join(paragraphs), "edited"),
    ]
    store = _store(tmp_path)
    _add(store, [original])
    fingerprinter = fingerprinter_for(PARAMS)
    shingled: dict[str, frozenset[str]] = {}
    links = [link_story(fingerprinter.fingerprint(a), store, PARAMS, shingled) for a in copies]
    assert [link.duplicate_of for link in links] == [original.id, original.id]
    assert shingled == {original.id: fingerprinter.shingles(original.text_norm)}
    # Without the batch's cache: the same links.
    again = [link_story(fingerprinter.fingerprint(a), store, PARAMS) for a in copies]
    assert again == links


def test_dev_set_meets_the_targets(fixtures: Path, tmp_path: Path) -> None:
    scores = evaluate(fixtures / "dedup" / "devset.ndjson", PARAMS, _store(tmp_path))
    assert scores.precision >= 0.99
    assert scores.recall >= 0.97
    assert scores.true_pos > 500  # the dev set really has near-duplicate pairs


def test_pairwise_scores() -> None:
    gold = {"a": "x", "b": "x", "c": "y", "d": "y"}
    scores = pairwise_scores(gold, {"a": "1", "b": "1", "c": "1", "d": "2"})
    assert (scores.true_pos, scores.false_pos, scores.false_neg) == (1, 2, 1)
    assert scores.precision == pytest.approx(1 / 3) and scores.recall == 0.5


def test_changed_layout_needs_a_rebuild(tmp_path: Path, seeds: Path) -> None:
    store = _store(tmp_path)
    original = _seed_article(seeds, "001_c7913647ea205634.txt")
    copy = _article(original.text + "\nشارك هذا المقال", "copy")
    _add(store, [original])
    other = DedupParams(lsh_threshold=0.5)
    with pytest.raises(StoreError, match="dedup settings changed"):
        _add(store, [copy], other)
    assert rebuild_stories(store, other) == 1
    _add(store, [copy], other)
    assert _clusters(store)["copy"] == (original.id, original.id)


def test_rebuild_links_articles_stored_before_dedup(tmp_path: Path, seeds: Path) -> None:
    store = _store(tmp_path)
    original = _seed_article(seeds, "003_e1704f5e1c1310a5.txt")
    copy = _article("(د ب أ) - " + original.text, "copy")
    _add(store, [original, copy])
    store.reset_stories()  # as a store migrated from before dedup looks
    assert _clusters(store)["copy"] == (copy.id, None)
    assert rebuild_stories(store, PARAMS) == 2
    assert _clusters(store)["copy"] == (original.id, original.id)


def test_url_variants_are_one_document() -> None:
    variants = [
        "https://arabic.rt.com/world/1234-putin-xi/",
        "https://www.arabic.rt.com/world/1234-putin-xi/?utm_source=twitter&utm_medium=social",
        "http://m.arabic.rt.com/world/1234-putin-xi/#comments",
        "HTTPS://ARABIC.RT.COM:443/world/1234-putin-xi/?fbclid=abc",
    ]
    assert {canonical_url(u) for u in variants} == {"https://arabic.rt.com/world/1234-putin-xi/"}
    assert len({article_id(u, normalize_text("x")) for u in variants}) == 1


def _at_url(article: Article, url: str) -> Article:
    return replace(article, id=article_id(url, article.text_norm), url=url)


def test_known_url_with_other_text_is_stored_as_a_new_version(seeds: Path, tmp_path: Path) -> None:
    # An outlet reusing one URL for another story: seed 000 first, seed 003 later.
    url = "https://www.spa.gov.sa/viewstory.php?lang=ar&newsid=2001"
    first = _at_url(_seed_article(seeds, "000_82fb96e6e2e2803a.txt"), url)
    second = _at_url(_seed_article(seeds, "003_e1704f5e1c1310a5.txt"), url)
    store = _store(tmp_path)
    assert _add(store, [first]).new_ids == [first.id]
    result = _add(store, [second])
    assert len(result.new_ids) == 1 and result.new_ids[0] != first.id
    version = store.articles_by_id(result.new_ids)[0]
    assert version.version_of == first.id and version.url == first.url
    assert version.text == second.text
    # The same version read again is known; so is the first text.
    again = _add(store, [second, first])
    assert again.new_ids == [] and sorted(again.known_ids) == sorted([result.new_ids[0], first.id])
    assert store.count_articles() == 2


def test_known_url_with_a_small_edit_is_the_same_article(seeds: Path, tmp_path: Path) -> None:
    url = "https://arabic.rt.com/world/1234567-putin-xi/"
    first = _at_url(_seed_article(seeds, "001_c7913647ea205634.txt"), url)
    edited_text = first.text.replace("،", ",", 3) + " (تحديث)"
    edited = _at_url(
        build_article(CleanItem("edit", first.title, edited_text, "utf-8", url=url), NOW), url
    )
    store = _store(tmp_path)
    _add(store, [first])
    result = _add(store, [edited])
    assert result.new_ids == [] and result.known_ids == [first.id]
    assert store.count_articles() == 1
