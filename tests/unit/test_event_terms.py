"""What a story says about its event: rare words weigh, common ones do not, names become ids."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

from enrich.arabic import normalize_text
from enrich.entities import tag_story, tagger_for
from enrich.event_terms import ENTITY_PREFIX, event_terms, term_zipf
from enrich.events import EventParams, merged_profile, shared_evidence, similarity, story_time
from newsmon.records import Article

CALL = Path(__file__).resolve().parents[1] / "fixtures" / "events" / "putin-xi-call"


def _article(path: Path, published_at: datetime | None = None) -> Article:
    title, _, text = path.read_text(encoding="utf-8").partition("\n\n")
    entities = tag_story(tagger_for(None), title, text, "ar")
    return Article(
        id=path.stem,
        source=str(path),
        title=title,
        text=text,
        text_norm=normalize_text(text),
        lang="ar",
        ingested_at=datetime(2026, 11, 23, 12, tzinfo=UTC),
        published_at=published_at,
        entities=entities,
    )


def test_the_word_table_knows_common_and_rare_words() -> None:
    zipf = term_zipf()
    assert zipf["في"] > 7 > zipf["الاستفتاء"]


def test_rare_words_and_entity_ids_carry_the_weight_common_words_none() -> None:
    article = _article(CALL / "01.txt")
    terms = dict(event_terms(article))
    assert math.isclose(math.sqrt(sum(w * w for w in terms.values())), 1.0)
    assert "في" not in terms and "ان" not in terms  # Zipf 7.5: weightless
    assert terms["الاستفتاء"] > 0
    # Names count once, as the entity's id: «بوتين» and «شي» are not words here.
    assert {ENTITY_PREFIX + "Q7747", ENTITY_PREFIX + "Q15031"} <= set(terms)
    assert "بوتين" not in terms and "شي" not in terms
    weights = [w for _, w in event_terms(article)]
    assert weights == sorted(weights, reverse=True)


def test_two_write_ups_of_one_call_share_more_than_a_story_on_other_days() -> None:
    first, other_write_up = _article(CALL / "01.txt"), _article(CALL / "03.txt")
    seeds = Path(__file__).resolve().parents[2] / "seeds"
    moscow_visit = _article(seeds / "002_78f173c836337b59.txt")
    same = similarity(event_terms(other_write_up), event_terms(first))
    different = similarity(event_terms(moscow_visit), event_terms(first))
    assert same > EventParams().min_score > different
    shared = shared_evidence(event_terms(other_write_up), event_terms(first), 8)
    assert {"هاتفي", "اتصال"} <= set(shared)  # the call itself


def test_an_event_profile_sums_its_stories_and_keeps_the_heaviest() -> None:
    profile = merged_profile((("a", 0.6), ("b", 0.8)), (("b", 0.5), ("c", 0.1)), limit=2)
    assert profile == (("b", 1.3), ("a", 0.6))


def test_story_time_is_the_publication_unless_it_is_after_reading() -> None:
    read = datetime(2026, 11, 23, 12, tzinfo=UTC)
    article = _article(CALL / "01.txt", published_at=datetime(2026, 11, 20, 8))
    assert story_time(article) == datetime(2026, 11, 20, 8, tzinfo=UTC)
    future = _article(CALL / "01.txt", published_at=datetime(2027, 1, 1, tzinfo=UTC))
    assert story_time(future) == read
    assert story_time(_article(CALL / "01.txt")) == read
