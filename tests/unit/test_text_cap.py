"""The text cap: a long story keeps its first part, and the cut is reported."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from enrich.text_cap import cut_at_paragraph
from newsmon.compose import pipeline_config
from newsmon.prepare import prepare_items
from newsmon.records import ContentType, RawItem, StageOutput
from newsmon.settings import Settings


def test_a_cut_ends_at_a_paragraph_break() -> None:
    text = "الفقرة الأولى.\nالفقرة الثانية أطول قليلا.\nالثالثة."
    assert cut_at_paragraph(text, 1000) == text
    assert cut_at_paragraph(text, 30) == "الفقرة الأولى."
    assert cut_at_paragraph("كلمة" * 20, 10) == ("كلمة" * 20)[:10]  # no break to end at


def test_a_story_over_the_cap_is_stored_cut_and_the_cut_reported(seeds: Path) -> None:
    seed = sorted(seeds.glob("*.txt"))[0]
    config = pipeline_config(Settings(db="unused.db")).prepare
    long_item = RawItem(str(seed), seed.read_bytes() * 40, ContentType.TEXT)
    whole = prepare_items(StageOutput(items=[long_item]), config)
    length = len(whole.fingerprints[0].article.text)
    assert not whole.rejections
    capped = prepare_items(StageOutput(items=[long_item]), replace(config, max_text_chars=2000))
    [fingerprint] = capped.fingerprints
    assert 1000 < len(fingerprint.article.text) <= 2000
    assert whole.fingerprints[0].article.text.startswith(fingerprint.article.text)
    [note] = capped.rejections
    assert (note.source, note.stage) == (str(seed), "truncate")
    assert note.reason.startswith(f"text cut to its first {len(fingerprint.article.text):,} of")
    assert f"of {length:,} characters" in note.reason
