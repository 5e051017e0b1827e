from pathlib import Path

import pytest
from lxml.html import fromstring

from enrich.boilerplate import line_key
from enrich.extract import strip_repeated_title_parts
from enrich.html import extract_page
from enrich.page_meta import (
    PageClues,
    clean_author,
    headings,
    lead_candidate,
    page_clues,
    strip_site_name,
)
from newsmon.errors import RejectedInput
from newsmon.records import CleanItem

CLUES = PageClues(headings=(), site_names=frozenset({line_key("اليوم السابع"), "youm7"}))


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("وزير الري يشهد توقيع عقد - اليوم السابع", "وزير الري يشهد توقيع عقد"),
        ("اليوم السابع | وزير الري يشهد توقيع عقد", "وزير الري يشهد توقيع عقد"),
        ("وزير الري يشهد توقيع عقد", "وزير الري يشهد توقيع عقد"),
        # a separator inside the headline with no site name around it stays
        ("مصر - السودان: اتفاق على المياه", "مصر - السودان: اتفاق على المياه"),
    ],
)
def test_site_name_from_the_page_is_stripped(title: str, expected: str) -> None:
    assert strip_site_name(title, CLUES)[0] == expected


def test_site_name_known_only_from_the_pages_own_heading() -> None:
    clues = PageClues(headings=("أميركا: 50 ألفا حصيلة الوفيات",), site_names=frozenset())
    title = "المدينة نيوز - أميركا: 50 ألفا حصيلة الوفيات"
    assert strip_site_name(title, clues) == ("أميركا: 50 ألفا حصيلة الوفيات", "المدينة نيوز")


def test_page_clues_read_h1_site_name_and_host() -> None:
    tree = fromstring("<html><body><h1> عنوان  الخبر </h1><p>نص</p></body></html>")
    clues = page_clues(headings(tree), "قناة صدى البلد", "www.elbaladtv.net")
    assert clues.headings == ("عنوان الخبر",)
    assert clues.site_names == {line_key("قناة صدى البلد"), "elbaladtv"}


@pytest.mark.parametrize(
    ("author", "site", "expected"),
    [
        ("Sputnik https; Cdnarabic; I; Logo Png", [], None),
        ("Akhbarelyom; Heba Musa", ["akhbarelyom"], "Heba Musa"),
        ("المدينة نيوز", ["المدينة نيوز"], None),
        ("حسام أبو العلا", [], "حسام أبو العلا"),
        ("@newsdesk; 2020", [], None),
    ],
)
def test_author_keeps_only_names(author: str, site: list[str], expected: str | None) -> None:
    assert clean_author(author, site) == expected


_LEAD_PAGE = """<html><head><meta property="og:description" content="{desc}"></head><body>
<nav><p>{desc} في القائمة</p></nav>
<div itemprop="description" class="article-lead"><p>{lead}</p></div>
<div class="article-body"><p>{body}</p></div></body></html>"""
_LEAD = "أعلنت وزارة الصحة اليوم تسجيل ثلاثين حالة جديدة بالفيروس ليرتفع العدد إلى مئتين"
_BODY = "وأوضح المتحدث باسم الوزارة أن الحالات الجديدة كلها من المخالطين."


def test_lead_beside_the_body_is_put_back() -> None:
    html = _LEAD_PAGE.format(desc=_LEAD[:60] + "...", lead=_LEAD, body=_BODY)
    # Missing from the extracted text: put back.
    assert lead_candidate(fromstring(html), unless_in=_BODY) == _LEAD
    assert lead_candidate(fromstring(html)) == _LEAD
    # Already in the text, or no visible paragraph: nothing added.
    assert lead_candidate(fromstring(html), unless_in=_LEAD + "\n" + _BODY) is None
    blurb = "موقع إخباري يتناول الشؤون اللبنانية والعربية والدولية على مدار الساعة كل يوم"
    blurb_page = _LEAD_PAGE.format(desc=blurb, lead=_LEAD, body=_BODY).replace(
        f"<nav><p>{blurb} في القائمة</p></nav>", ""
    )
    assert lead_candidate(fromstring(blurb_page)) is None


def test_short_page_is_kept_only_when_it_is_its_headline(fixtures: Path) -> None:
    flash = (fixtures / "html" / "flash.html").read_text("utf-8")
    page = extract_page(flash, url="https://example.com/a/1", title="عاجل: بوتين يصل إلى بكين")
    assert "بوتين يصل إلى بكين" in page.text
    index = (fixtures / "html" / "section-index.html").read_text("utf-8")
    with pytest.raises(RejectedInput, match="no article text"):
        extract_page(index, url="https://example.com/world", title="أخبار العالم")


def test_a_part_repeated_across_headlines_of_one_host_is_its_site_name() -> None:
    def item(url: str, title: str) -> CleanItem:
        return CleanItem(source=url, title=title, text="نص", encoding="utf-8", url=url)

    items = [
        item("https://alwatan.example/a/1", "الحكومة تعلن خطة جديدة للمياه | الوطن نيوز"),
        item("https://alwatan.example/a/2", "ارتفاع أسعار النفط في الأسواق | الوطن نيوز"),
        item("https://other.example/a/3", "مصر - السودان: اتفاق على المياه"),
        item("https://other.example/a/4", "اجتماع وزاري في القاهرة"),
    ]
    titles = [i.title for i in strip_repeated_title_parts(items)]
    assert titles == [
        "الحكومة تعلن خطة جديدة للمياه",
        "ارتفاع أسعار النفط في الأسواق",
        "مصر - السودان: اتفاق على المياه",
        "اجتماع وزاري في القاهرة",
    ]
