from pathlib import Path

import pytest
import yaml

from newsmon.ids import article_id, canonical_url, tracking_params

_OUTLETS = yaml.safe_load(
    (Path(__file__).parent.parent / "fixtures" / "urls" / "article_urls.yml").read_text("utf-8")
)


def test_fixture_covers_at_least_fifteen_outlets() -> None:
    assert len(_OUTLETS) >= 15


@pytest.mark.parametrize("outlet", _OUTLETS, ids=[o["outlet"] for o in _OUTLETS])
def test_two_articles_of_one_outlet_stay_two(outlet: dict[str, list[str]]) -> None:
    first, second = outlet["different"]
    assert canonical_url(first) != canonical_url(second)
    assert article_id(first, "") != article_id(second, "")


@pytest.mark.parametrize("outlet", _OUTLETS, ids=[o["outlet"] for o in _OUTLETS])
def test_tracked_spellings_of_one_article_are_one(outlet: dict[str, list[str]]) -> None:
    first = outlet["different"][0]
    for variant in outlet["same"]:
        assert canonical_url(variant) == canonical_url(first), variant


def test_query_ids_are_kept_and_sorted() -> None:
    url = "http://www.spa.gov.sa/viewstory.php?newsid=2001&lang=ar&utm_source=x&fbclid=y"
    assert canonical_url(url) == "https://spa.gov.sa/viewstory.php?lang=ar&newsid=2001"


def test_tracking_list_is_data_with_exact_names_and_prefixes() -> None:
    params = tracking_params()
    assert params.is_tracker("FBCLID") and params.is_tracker("utm_content")
    assert not params.is_tracker("newsid") and not params.is_tracker("p")
