from __future__ import annotations

from pathlib import Path

import pytest
from trafilatura.metadata import extract_metadata
from trafilatura.settings import set_date_params
from trafilatura.utils import load_html

from enrich.page_metadata import read_metadata

PAGES = ["assabah.html", "cnn_arabic.html", "flash.html", "section-index.html"]


@pytest.mark.parametrize("name", PAGES)
def test_kept_fields_are_trafilaturas_own(fixtures: Path, name: str) -> None:
    tree = load_html((fixtures / "html" / name).read_text("utf-8"))
    ours = read_metadata(tree, None, dated=True)
    theirs = extract_metadata(tree, None, date_config=set_date_params(extensive=False))
    for field in ("title", "author", "url", "hostname", "date"):
        assert getattr(ours, field) == getattr(theirs, field), field
    # trafilatura capitalises a site name for display; the site-name rules fold case anyway.
    assert (ours.sitename or "").casefold() == (theirs.sitename or "").casefold()
    assert ours.license is None  # never searched for


def test_the_text_is_searched_only_when_the_markup_has_no_date(fixtures: Path) -> None:
    dated_markup = load_html((fixtures / "html" / "assabah.html").read_text("utf-8"))
    undated = load_html((fixtures / "html" / "cnn_arabic.html").read_text("utf-8"))
    # The markup's date wins over the text's (the page's date widget, a year later).
    assert read_metadata(dated_markup, None, dated=False).date == "2019-02-09"
    assert read_metadata(undated, None, dated=True).date is None
    assert (read_metadata(undated, None, dated=False).date or "").startswith("2013")
