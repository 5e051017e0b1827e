"""The indexed document and what Elasticsearch messages may show."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.elasticsearch import es_document
from enrich.entities import tag_articles, tagger_for
from newsmon.records import Article


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
