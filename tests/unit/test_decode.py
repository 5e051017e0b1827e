from pathlib import Path

import pytest

from connectors.decode import decode_batch, decode_item, detect_and_decode
from newsmon.errors import RejectedInput
from newsmon.records import ContentType, RawItem

SEED_NAME = "001_c7913647ea205634.txt"


@pytest.mark.parametrize(
    ("fixture", "encoding"),
    [
        ("001.utf-8.txt", "utf-8"),
        ("001.utf-8-bom.txt", "utf-8-sig"),
        ("001.windows-1256.txt", "cp1256"),
        ("001.iso-8859-6.txt", "iso8859_6"),
        ("001.utf-16-bom.txt", "utf-16"),
        ("001.utf-16le-nobom.txt", "utf_16_le"),
    ],
)
def test_every_encoding_decodes_to_the_seed_text(
    fixtures: Path, seeds: Path, fixture: str, encoding: str
) -> None:
    text, detected = detect_and_decode((fixtures / "encodings" / fixture).read_bytes())
    assert text == (seeds / SEED_NAME).read_text(encoding="utf-8")
    assert detected == encoding


def test_a_wrong_declared_encoding_is_overruled(fixtures: Path, seeds: Path) -> None:
    data = (fixtures / "encodings" / "001.windows-1256.txt").read_bytes()
    text, detected = detect_and_decode(data, declared="utf-8")
    assert detected == "cp1256"
    assert text == (seeds / SEED_NAME).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("empty.txt", "empty file"),
        ("whitespace-only.txt", "empty file"),
        ("image-renamed.txt", "binary file (PNG image), not text"),
        ("undecodable.txt", "undecodable bytes: invalid UTF-8 at byte 499 (0xd8)"),
    ],
)
def test_bad_bytes_are_rejected_with_the_reason(fixtures: Path, fixture: str, reason: str) -> None:
    with pytest.raises(RejectedInput) as caught:
        detect_and_decode((fixtures / "bad" / fixture).read_bytes())
    assert str(caught.value).startswith(reason)


def test_control_characters_make_text_binary() -> None:
    with pytest.raises(RejectedInput, match="control characters"):
        detect_and_decode(b"abc\x01\x02\x03\x04def\x05\x06" * 50)


def test_batch_keeps_going_after_a_bad_item(fixtures: Path) -> None:
    good = RawItem(
        "good.txt", (fixtures / "encodings" / "001.utf-8.txt").read_bytes(), ContentType.TEXT
    )
    bad = RawItem(
        "bad.txt", (fixtures / "bad" / "image-renamed.txt").read_bytes(), ContentType.TEXT
    )
    out = decode_batch([bad, good])
    assert [item.source for item in out.items] == ["good.txt"]
    assert [(r.source, r.stage) for r in out.rejections] == [("bad.txt", "decode")]
    assert "PNG" in out.rejections[0].reason


def test_a_text_of_only_invisible_characters_is_refused_as_empty() -> None:
    invisible = ("\u202e\u2066\u200e" * 200 + "\n  \u200b.\n").encode("utf-8")
    with pytest.raises(RejectedInput, match="no visible text"):
        decode_item(RawItem("invisible.txt", invisible, ContentType.TEXT))
    one_digit = RawItem("digit.txt", "\u202e٣".encode(), ContentType.TEXT)
    assert decode_item(one_digit).body == "\u202e٣"
