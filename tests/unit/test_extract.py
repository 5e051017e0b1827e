from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from enrich.arabic import normalize_text, words
from enrich.article import build_article
from enrich.boilerplate import load_rules
from enrich.extract import extract_batch, extract_item
from enrich.html import extract_page
from enrich.language import detect_language
from newsmon.errors import RejectedInput
from newsmon.ids import article_id, canonical_url
from newsmon.records import CleanItem, ContentType, DecodedItem

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def _html_item(path: Path) -> DecodedItem:
    return DecodedItem(str(path), path.read_text("utf-8"), ContentType.HTML, "utf-8")


def test_cnn_arabic_page_matches_the_gold_text(fixtures: Path) -> None:
    item = extract_item(_html_item(fixtures / "html" / "cnn_arabic.html"), load_rules())
    gold = words(normalize_text((fixtures / "html" / "cnn_arabic.gold.txt").read_text("utf-8")))
    got = words(normalize_text(item.text))
    overlap = len(set(gold) & set(got))
    assert overlap / len(set(gold)) >= 0.95  # recall of the gold words
    assert overlap / len(set(got)) >= 0.95  # little beyond them
    assert item.title == "معارضون يسيطرون على مخازن للصواريخ بريف دمشق"
    assert item.url == "http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html"
    article = build_article(item, NOW)
    assert article.url == "https://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html"


def test_assabah_page_keeps_the_interview_and_drops_the_sidebar(fixtures: Path) -> None:
    item = extract_item(_html_item(fixtures / "html" / "assabah.html"), load_rules())
    for wanted in ("منذ بدء", "كل المجالات", "وماذا عن حقيقة"):
        assert wanted in item.text
    for unwanted in ("كورونا يقتل", "غائم جزئيا", "إضافة تعليق جديد"):
        assert unwanted not in item.text
    assert item.title.startswith("الناشط الحقوقي السوداني خالد عبد الكريم ماسا")
    assert not item.text.startswith(item.title)  # the repeated headline is dropped
    # The interview is of Friday 8 February 2019 (its dc:date and byline). htmldate's markup
    # pass reads a sidebar link of the next day; its search of the visible text used to
    # return the page's date widget, 2020-02-19, a year off.
    assert item.published_at is not None
    assert abs(item.published_at - datetime(2019, 2, 8)) <= timedelta(days=1)


def test_page_without_an_article_is_rejected() -> None:
    with pytest.raises(RejectedInput, match="no article text found"):
        extract_page("<html><body><script>var a = 1;</script></body></html>")
    nav_only = "<html><body><nav><a href='/'>الرئيسية</a></nav></body></html>"
    item = DecodedItem("nav.html", nav_only, ContentType.HTML, "utf-8")
    with pytest.raises(
        RejectedInput, match=r"no article text found in the HTML page \(only 1 words"
    ):
        extract_item(item, load_rules())


def test_extract_batch_records_failures_and_goes_on(fixtures: Path) -> None:
    empty = DecodedItem("empty.html", "<html></html>", ContentType.HTML, "utf-8")
    good = _html_item(fixtures / "html" / "cnn_arabic.html")
    out = extract_batch([empty, good], load_rules())
    assert len(out.items) == 1
    assert [(r.source, r.stage) for r in out.rejections] == [("empty.html", "extract")]


def test_article_id_is_stable_across_spelling_and_spacing() -> None:
    a = article_id(None, normalize_text("قال الرئيسُ  بوتين"))
    b = article_id(None, normalize_text("قال الرئيس بوتين"))
    assert a == b and len(a) == 20
    assert a != article_id(None, normalize_text("قال الرئيس شي"))


def test_article_id_from_url_ignores_tracking_parameters() -> None:
    plain = "https://arabic.example.com/news/1"
    tracked = "https://arabic.example.com/news/1?utm_source=rss&utm_medium=feed"
    assert canonical_url(tracked) == plain
    assert article_id(tracked, "x") == article_id(plain, "y")


def test_build_article_keeps_original_text_and_adds_normal_form() -> None:
    item = CleanItem("s.txt", "العنوان", "قالَ بوتين إنَّ الذكرى الـ٧٥ مهمة جدا.", "utf-8")
    article = build_article(item, NOW)
    assert article.text == item.text
    assert article.text_norm == "قال بوتين ان الذكري ال75 مهمه جدا."
    assert article.lang == "ar"
    assert article.ingested_at == NOW


def test_language_detection() -> None:
    assert detect_language("Vladimir Putin met Xi Jinping in Moscow on Thursday") == "en"
    assert detect_language("التقى الرئيس الروسي نظيره الصيني في موسكو يوم الخميس") == "ar"
    assert detect_language("hi") == "und"


def test_page_text_is_searched_for_a_date_only_when_the_caller_has_none(fixtures: Path) -> None:
    # The CNN page's markup carries no date; its text has the year (© 2013).
    html = (fixtures / "html" / "cnn_arabic.html").read_text("utf-8")
    searched = extract_page(html)
    assert searched.published_at is not None and searched.published_at.year == 2013
    assert extract_page(html, dated=True).published_at is None
