import pytest

from enrich.arabic import normalize_text, search_terms, words
from enrich.query import QueryError, parse_query, query_matches

TEXT = (
    "وقال الرئيس الروسي فلاديمير بوتين إن مبادرة «الحزام والطريق» تفتح آفاقا جديدة، "
    "وأشاد بالتعاون مع بكين في مجال الطاقة."
)


def _matches(query: str, text: str = TEXT) -> bool:
    norm = normalize_text(text)
    return query_matches(
        parse_query(query), frozenset(search_terms(norm).split()), lambda: words(norm)
    )


def test_words_side_by_side_all_match_with_their_clitic_forms() -> None:
    assert _matches("بوتين بكين")  # «بكين» is written «بكين» in the text
    assert _matches("التعاون الطاقه")  # ة/ه, and «بالتعاون» carries the proclitic ب
    assert not _matches("بوتين واشنطن")


def test_or_joins_the_terms_on_either_side() -> None:
    assert _matches("بوتين واشنطن OR بكين")
    assert _matches("واشنطن OR طوكيو OR الطاقة")
    assert not _matches("واشنطن OR طوكيو")
    assert not _matches("بوتين or واشنطن")  # lower-case «or» is a word like any other


def test_a_phrase_needs_its_words_in_a_row() -> None:
    assert _matches('"الحزام والطريق"')
    assert _matches("«الحزام والطريق» بوتين")
    assert _matches('"الرئيس الروسي"')
    assert not _matches('"الرئيس الصيني"')
    assert not _matches('"الطريق والحزام"')  # both words are there, not in this order
    assert _matches('"الطريق والحزام" OR "مبادرة الحزام"')


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("OR بوتين", "OR needs a term on each side"),
        ("بوتين OR", "OR needs a term on each side"),
        ("بوتين OR OR شي", "OR needs a term on each side"),
        ('بوتين "طريق الحرير', "a quote is not closed"),
    ],
)
def test_a_query_that_cannot_be_read_is_refused_with_the_reason(query: str, reason: str) -> None:
    with pytest.raises(QueryError, match=reason):
        parse_query(query)
