from pathlib import Path

import pytest
import yaml

from enrich.boilerplate import clean_text, derive_title, load_rules, parse_rules
from newsmon.errors import RejectedInput

EXPECTED = yaml.safe_load(
    (Path(__file__).parent.parent / "fixtures" / "seeds_expected.yml").read_text("utf-8")
)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_cleaning_removes_boilerplate_and_keeps_every_story_line(
    seeds: Path, name: str
) -> None:
    expected = EXPECTED[name]
    raw = (seeds / name).read_text(encoding="utf-8")
    title, text = clean_text(raw, load_rules())

    if "title" in expected:
        assert title == expected["title"]
    else:
        assert title.startswith(expected["title_startswith"])
        assert title.endswith("…") and len(title) <= 161

    removed = [line.strip() for line in expected["removed"]]
    story = [line.strip() for line in raw.splitlines() if line.strip()]
    if "title" in expected:
        story.remove(expected["title"])  # the headline moves to `title`
    for line in removed:
        story.remove(line)  # one occurrence each: a repeated headline is listed again
    assert text.splitlines() == story
    for line in removed:
        assert line not in text.splitlines()


def test_rules_generalise_to_other_sites() -> None:
    raw = "\n".join(
        [
            "RT Arabic",
            "عاجل",
            "الرئيسية > أخبار العالم",
            "بوابة الأخبار العربية",
            "لافروف يصل إلى بكين",
            "125",
            "وصل وزير الخارجية الروسي سيرغي لافروف إلى بكين اليوم.",
            "ويلتقي نظيره الصيني وانغ يي لبحث العلاقات الثنائية.",
            "• لافروف يصل إلى بكين",
            "شارك هذا المقال",
            "اترك تعليقاً",
            "الحقول الإلزامية مشار إليها بـ *",
            "لافروف يصل إلى بكين",
        ]
    )
    title, text = clean_text(raw, load_rules())
    assert title == "لافروف يصل إلى بكين"
    assert text.splitlines() == [
        "وصل وزير الخارجية الروسي سيرغي لافروف إلى بكين اليوم.",
        "ويلتقي نظيره الصيني وانغ يي لبحث العلاقات الثنائية.",
    ]


def test_rules_match_whatever_the_spelling() -> None:
    # Diacritics, alef/yaa variants and tatweel do not hide a footer line.
    raw = "\n".join(
        [
            "عنوان الخبر هنا",
            "نص الخبر الكامل في جملة واحدة طويلة.",
            "اتْرُكْ ردّاً",
            "لن يتـــم نشر عنوان بريدك الالكترونى",
        ]
    )
    _, text = clean_text(raw, load_rules())
    assert text == "نص الخبر الكامل في جملة واحدة طويلة."


def test_latin_label_rule_leaves_english_stories_alone() -> None:
    raw = "Putin and Xi talk\nMoscow\nThe two leaders spoke by phone on Friday."
    title, text = clean_text(raw, load_rules())
    assert title == "Putin and Xi talk"
    assert text.splitlines() == ["Moscow", "The two leaders spoke by phone on Friday."]


def test_story_sentences_like_labels_are_kept_outside_the_zones() -> None:
    # «مناقشة» alone is a footer label, but mid-story lines are never footer-trimmed.
    raw = "عنوان\nالفقرة الأولى من الخبر.\nمناقشة\nالفقرة الأخيرة من الخبر."
    _, text = clean_text(raw, load_rules())
    assert text.splitlines() == ["الفقرة الأولى من الخبر.", "مناقشة", "الفقرة الأخيرة من الخبر."]


def test_metadata_title_is_used_and_its_repeat_dropped() -> None:
    title, text = clean_text("عنوان من الصفحة\nنص الخبر.", load_rules(), title="عنوان من الصفحة")
    assert (title, text) == ("عنوان من الصفحة", "نص الخبر.")


def test_only_boilerplate_is_rejected(fixtures: Path) -> None:
    raw = (fixtures / "bad" / "only-boilerplate.txt").read_text(encoding="utf-8")
    with pytest.raises(RejectedInput, match="no text left after boilerplate removal"):
        clean_text(raw, load_rules())


def test_derived_title_is_the_first_sentence() -> None:
    assert derive_title("جملة أولى قصيرة. جملة ثانية.") == "جملة أولى قصيرة"


def test_custom_rules_file(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(
        "header: {exact: [موقعنا]}\nfooter: {patterns: ['^تابعونا']}\nheader_latin_label: '^$'\n",
        encoding="utf-8",
    )
    rules = load_rules(rules_file)
    title, text = clean_text("موقعنا\nالعنوان\nالنص.\nتابعونا دائما", rules)
    assert (title, text) == ("العنوان", "النص.")


def test_malformed_rules_name_the_file() -> None:
    with pytest.raises(ValueError, match=r"x\.yml: malformed boilerplate rules"):
        parse_rules({"header": {}}, "x.yml")
    with pytest.raises(ValueError, match=r"x\.yml: bad pattern"):
        parse_rules(
            {"header": {"patterns": ["("]}, "footer": {}, "header_latin_label": "x"}, "x.yml"
        )


def test_headline_with_double_dots_is_whole_and_leaves_the_body() -> None:
    text = "مصر.. تعديل مرتقب يطيح برئيس الحكومة\n\nتداولت الأوساط أنباء عن تعديل وزاري قريب."
    title, body = clean_text(text, load_rules())
    assert title == "مصر.. تعديل مرتقب يطيح برئيس الحكومة"
    assert body == "تداولت الأوساط أنباء عن تعديل وزاري قريب."


def test_double_dots_do_not_end_a_derived_title() -> None:
    assert derive_title("قال بوتين.. إن الأمر مهم. ثم أضاف كلاما آخر") == "قال بوتين.. إن الأمر مهم"


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("ar-flash.txt", "عاجل: بوتين يصل إلى بكين"),
        ("en-flash.txt", "Xi and Putin signed a joint statement."),
    ],
)
def test_one_sentence_flash_is_its_own_title_and_text(
    fixtures: Path, name: str, title: str
) -> None:
    raw = (fixtures / "flash" / name).read_text("utf-8")
    assert clean_text(raw, load_rules()) == (title, title)
    # The same with the headline given by metadata (a JSON record, a feed item).
    assert clean_text(raw, load_rules(), title=title) == (title, title)


def test_glued_related_articles_list_is_footer() -> None:
    text = (
        "عنوان المقال\n\nفقرة أولى من المقال عن السياسة الإقليمية.\n"
        "مقالات أخرى للكاتبعن روسيا بوتن.. أو بوتن روسياعن روسيا بوتن"
    )
    assert clean_text(text, load_rules())[1] == "فقرة أولى من المقال عن السياسة الإقليمية."
