"""Turn loaded bytes into text: detect the encoding, refuse binaries and undecodable bytes."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from newsmon.errors import RejectedInput
from newsmon.records import DecodedItem, RawItem, StageOutput
from newsmon.stages import map_stage

# Signatures of formats that are sometimes mislabelled as text (a PNG renamed .txt).
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive (or docx/xlsx/epub)"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\x7fELF", "ELF executable"),
    (b"RIFF", "RIFF media (WAV/AVI/WebP)"),
    (b"\x00\x00\x00\x18ftyp", "MP4 video"),
    (b"\x00\x00\x00\x20ftyp", "MP4 video"),
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# charset-normalizer's "chaos" above this means the bytes decode only to gibberish.
_MAX_CHAOS = 0.25
# Share of control/private-use characters above which decoded text is not prose.
_MAX_CONTROL_SHARE = 0.02
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ud800-\udfff]")


def sniff_binary(data: bytes) -> str | None:
    """Name the binary format the bytes start with, or None when they may be text."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def _from_bom(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def _control_share(text: str) -> float:
    sample = text[:20_000]
    return len(_CONTROL.findall(sample)) / len(sample) if sample else 0.0


def detect_and_decode(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes to (text, encoding), raising RejectedInput with the reason when it cannot."""
    if not data.strip():
        raise RejectedInput("empty file")
    kind = sniff_binary(data)
    if kind:
        raise RejectedInput(f"binary file ({kind}), not text")
    encoding = _from_bom(data)
    text: str | None = None
    if encoding is None and declared:
        try:
            text, encoding = data.decode(declared), codecs.lookup(declared).name
        except (LookupError, UnicodeDecodeError):
            text = None  # a declaration that lies is common; detect instead
    if encoding is not None and text is None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise RejectedInput(f"undecodable bytes: BOM says {encoding} but {exc.reason}") from exc
    if text is None:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as utf8_error:
            best = charset_normalizer.from_bytes(data).best()
            if best is None or best.chaos > _MAX_CHAOS:
                bad = data[utf8_error.start : utf8_error.start + 1].hex()
                raise RejectedInput(
                    f"undecodable bytes: invalid UTF-8 at byte {utf8_error.start} (0x{bad})"
                    " and no other text encoding fits"
                ) from None
            text, encoding = str(best), best.encoding
    assert encoding is not None
    if "\x00" in text or _control_share(text) > _MAX_CONTROL_SHARE:
        raise RejectedInput(f"binary content: control characters when read as {encoding}")
    return text.lstrip("\ufeff"), encoding


def decode_item(item: RawItem) -> DecodedItem:
    """Decode one raw item; raises RejectedInput naming the reason."""
    text, encoding = detect_and_decode(item.data, item.declared_encoding)
    if not any(char.isalnum() for char in text):
        # Only spaces, punctuation and invisible marks (bidi controls, zero-width joiners):
        # language detection would still name a language for it.
        raise RejectedInput(
            "no visible text: no letter or digit, only spaces, marks or punctuation"
        )
    return DecodedItem(
        source=item.source,
        body=text,
        content_type=item.content_type,
        encoding=encoding,
        title=item.title,
        url=item.url,
        published_at=item.published_at,
        author=item.author,
        metadata_is_fallback=item.metadata_is_fallback,
    )


def decode_batch(items: list[RawItem]) -> StageOutput[DecodedItem]:
    """Decode a batch; undecodable or binary items are rejected with the reason."""
    return map_stage("decode", items, decode_item, lambda item: item.source)
