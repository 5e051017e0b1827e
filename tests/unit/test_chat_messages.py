from connectors.chat_channels import _CUT_NOTE, TELEGRAM_MAX_CHARS, _cut, _slack_escaped


def test_slack_text_escapes_its_three_control_characters() -> None:
    assert _slack_escaped("<b>Putin & Xi</b> > all") == "&lt;b&gt;Putin &amp; Xi&lt;/b&gt; &gt; all"


def test_a_long_telegram_text_is_cut_at_a_line_with_a_note() -> None:
    lines = [f"سطر رقم {n} من رسالة طويلة عن لقاء بوتين وشي" for n in range(400)]
    text = "\n".join(lines)
    cut = _cut(text, TELEGRAM_MAX_CHARS)
    assert len(text) > TELEGRAM_MAX_CHARS >= len(cut)
    assert cut.endswith(_CUT_NOTE)
    kept = cut.removesuffix(_CUT_NOTE).split("\n")
    assert kept == lines[: len(kept)]  # whole lines only
    assert _cut("قصير", TELEGRAM_MAX_CHARS) == "قصير"
