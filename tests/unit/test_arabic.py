from enrich.arabic import (
    arabic_share,
    clitic_variants,
    normalize_text,
    query_groups,
    search_terms,
)


def test_normalisation_folds_spelling_variants() -> None:
    assert normalize_text("أَحْمَد") == normalize_text("احمد") == "احمد"
    assert normalize_text("إلى") == "الي"
    assert normalize_text("مدرسة") == "مدرسه"
    assert normalize_text("بوتيــــن") == "بوتين"
    assert normalize_text("الذكرى الـ٧٥") == "الذكري ال75"
    assert normalize_text("شي جين پينغ") == "شي جين بينغ"
    assert normalize_text("مسؤول") == normalize_text("مسئول")
    assert normalize_text("Putin\u200f") == "putin"


def test_normalisation_keeps_line_breaks_and_collapses_spaces() -> None:
    assert normalize_text("سطر  أول\nسطر\t ثان") == "سطر اول\nسطر ثان"


def test_clitic_variants() -> None:
    assert clitic_variants("وللرئيس") == ("وللرئيس", "للرئيس", "الرئيس", "رئيس")
    assert clitic_variants("وبوتين")[:2] == ("وبوتين", "بوتين")
    assert clitic_variants("لبوتين")[:2] == ("لبوتين", "بوتين")
    assert clitic_variants("والصين") == ("والصين", "الصين", "صين")
    # Stems shorter than three letters are never produced.
    assert clitic_variants("ولي") == ("ولي",)


def test_search_terms_and_query_groups_meet() -> None:
    doc_terms = set(search_terms(normalize_text("وأكّد للكرملين")).split())
    for group in query_groups("الكرملين"):
        assert doc_terms & set(group)


def test_arabic_share() -> None:
    assert arabic_share("بوتين") == 1.0
    assert arabic_share("Putin") == 0.0
    assert arabic_share("123 !") == 0.0


def test_unicode_step_equals_camel_tools(seeds) -> None:  # type: ignore[no-untyped-def]
    import unicodedata

    from camel_tools.utils.normalize import normalize_unicode

    from enrich.arabic import _LIGATURES

    samples = [p.read_text("utf-8") for p in sorted(seeds.glob("*.txt"))]
    samples.append("سعر ١٠ \ufdfc و\ufdfd ﻻ ﷲ ﺑﻮﺗﻴﻦ Ｐｕｔｉｎ")
    for text in samples:
        assert unicodedata.normalize("NFKC", text.translate(_LIGATURES)) == normalize_unicode(text)
