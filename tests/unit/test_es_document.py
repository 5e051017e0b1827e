"""The indexed document and what Elasticsearch messages may show."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from connectors.elasticsearch import es_document
from connectors.es_status import delivery_state
from enrich.entities import tag_articles, tagger_for
from enrich.gazetteer import display_names
from newsmon.records import Article, DeliveryState, DeliveryStatus


def test_document_adds_keyword_fields_to_the_export_record() -> None:
    article = Article(
        "abc",
        "https://www.example.com/a?x=1",
        "عنوان",
        "التقى بوتين الرئيس شي جين بينغ.",
        "",
        "ar",
        datetime(2026, 11, 22, tzinfo=UTC),
        url="https://www.example.com/a",
        duplicate_of="zzz",
    )
    (tagged,) = tag_articles([article], tagger_for(None)).items
    doc = es_document(tagged, ["https://www.example.com/a?x=1", "b.txt"])
    assert doc["entity_ids"] == ["Q7747", "Q15031"]
    assert doc["entity_labels"] == ["فلاديمير بوتين", "شي جين بينغ"]
    assert doc["source_domain"] == "example.com"
    assert doc["first_copy"] is False
    assert doc["sources"] == ["https://www.example.com/a?x=1", "b.txt"]
    assert doc["entities"][0]["mentions"] == [
        {"start": 6, "end": 11, "text": "بوتين", "field": "text"}
    ]
    assert doc["alert_rules"] == []
    assert es_document(tagged, [], ["putin-xi"])["alert_rules"] == ["putin-xi"]


def test_every_document_has_a_time_an_outlet_and_entities_by_type_in_both_languages() -> None:
    read = datetime(2026, 11, 22, 12, tzinfo=UTC)
    article = Article(
        "abc", "https://arabic.rt.com/a", "عنوان", "التقى بوتين الرئيس شي في موسكو.", "", "ar",
        read, url="https://arabic.rt.com/a",
    )  # fmt: skip
    (tagged,) = tag_articles([article], tagger_for(None)).items
    undated = es_document(tagged, [], names=display_names())
    assert (undated["published_at"], undated["published_from"]) == (read.isoformat(), "first-seen")
    assert undated["outlet"] == "rt.com"
    assert undated["people"] == ["Vladimir Putin · فلاديمير بوتين", "Xi Jinping · شي جين بينغ"]
    assert undated["places"] == ["Moscow · موسكو"] and undated["organisations"] == []
    assert undated["entity_names"] == [*undated["people"], *undated["places"]]
    # Without the names, the stored label stands in.
    assert es_document(tagged, [])["people"] == ["فلاديمير بوتين", "شي جين بينغ"]

    moscow = timezone(timedelta(hours=3))
    dated = replace(tagged, published_at=datetime(2026, 11, 22, 9, tzinfo=moscow))
    doc = es_document(dated, [])
    assert datetime.fromisoformat(doc["published_at"]) == datetime(2026, 11, 22, 6, tzinfo=UTC)
    assert doc["published_from"] == "page"
    # A date after the story was read is wrong: the time it was read stands in.
    future = replace(tagged, published_at=read + timedelta(days=30))
    assert es_document(future, [])["published_from"] == "first-seen"
    assert es_document(future, [])["published_at"] == read.isoformat()


def test_an_alert_is_as_delivered_as_its_worst_channel() -> None:
    def channel(state: DeliveryState) -> DeliveryStatus:
        return DeliveryStatus(1, "email", "x", state, 1, None, None, None)

    pending, sent, given_up = (channel(s) for s in DeliveryState)
    assert delivery_state([]) == "none"
    assert delivery_state([sent, sent]) == "sent"
    assert delivery_state([sent, pending]) == "pending"
    assert delivery_state([pending, given_up, sent]) == "given-up"
