"""Arabic normalisation and tokens for matching and search, built on camel-tools utils."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from camel_tools.utils.dediac import dediac_ar
from camel_tools.utils.normalize import (
    normalize_alef_ar,
    normalize_alef_maksura_ar,
    normalize_teh_marbuta_ar,
)

# camel-tools' normalize_unicode is NFKC after expanding two ligatures that NFKC keeps; it
# maps them with a per-character Python loop (a third of ingest time), str.translate is C.
_LIGATURES = str.maketrans({"\ufdfc": "ريال", "\ufdfd": "بسم الله الرحمن الرحيم"})

# Persian/Urdu letters that Arabic outlets use in names (پوتين, شي جين پينغ), hamza seats
# that outlets spell either way (مسؤول/مسئول), Eastern digits, tatweel and invisible marks.
_CHAR_MAP: dict[str, str] = {
    "پ": "ب",
    "چ": "ج",
    "ژ": "ز",
    "ڤ": "ف",
    "گ": "ك",
    "ک": "ك",
    "ی": "ي",
    "ۀ": "ه",
    "ؤ": "ء",
    "ئ": "ء",
    "ـ": "",
    "\u200c": "",
    "\u200d": "",
    "\u200e": "",
    "\u200f": "",
    "\u061c": "",
    "\ufeff": "",
    **{chr(0x0660 + d): str(d) for d in range(10)},
    **{chr(0x06F0 + d): str(d) for d in range(10)},
}
# str.translate looks every character up in a dict; a regex finds the few that change, 8x
# faster on news text.
_MAPPED = re.compile("[" + re.escape("".join(_CHAR_MAP)) + "]")
# Runs of spaces other than newlines that are not a lone " ": they start with a space and
# another, or with an odd space. Written so a plain space is one failed test (2x faster).
_SPACES = re.compile(r"(?: [^\S\n]|[^ \S\n])[^\S\n]*")
_WORD = re.compile(r"\w+")
_ARABIC_LETTER = re.compile(r"[\u0621-\u064A\u0671-\u06D3]")
_LETTER = re.compile(r"[^\W\d_]")

# Proclitics in the order they stack: conjunction, preposition, definite article.
_CONJUNCTIONS = ("و", "ف")
_PREPOSITIONS = ("ب", "ل", "ك")
_MIN_STEM = 3


def _mapped(match: re.Match[str]) -> str:
    return _CHAR_MAP[match.group()]


def normalize_arabic(text: str) -> str:
    """Normalise Arabic spelling (diacritics, alef/yaa/teh marbuta, tatweel, digits); keep case."""
    if "\ufdfc" in text or "\ufdfd" in text:
        text = text.translate(_LIGATURES)
    if not unicodedata.is_normalized("NFKC", text):  # the quick check is far cheaper
        text = unicodedata.normalize("NFKC", text)
    text = _MAPPED.sub(_mapped, dediac_ar(text))
    text = normalize_teh_marbuta_ar(normalize_alef_maksura_ar(normalize_alef_ar(text)))
    return _SPACES.sub(" ", text)


def normalize_text(text: str) -> str:
    """Normalise for matching and search: Arabic spelling plus Latin case folding."""
    return normalize_arabic(text).casefold()


def words(text_norm: str) -> list[str]:
    """Split normalised text into word tokens (letters and digits; punctuation dropped)."""
    return _WORD.findall(text_norm)


def arabic_share(text: str) -> float:
    """Share of letters in the text that are Arabic-script letters."""
    sample = text[:1000]
    # subn counts in C without building a list of one-letter strings.
    letters = _LETTER.subn("", sample)[1]
    return _ARABIC_LETTER.subn("", sample)[1] / letters if letters else 0.0


@lru_cache(maxsize=200_000)
def clitic_variants(token: str) -> tuple[str, ...]:
    """The token and its forms without proclitics: وللرئيس → للرئيس, الرئيس, رئيس."""
    variants = [token]

    def add(form: str) -> None:
        if len(form) >= _MIN_STEM and form not in variants:
            variants.append(form)

    rest = token
    if rest[:1] in _CONJUNCTIONS and len(rest) - 1 >= _MIN_STEM:
        rest = rest[1:]
        add(rest)
    if rest.startswith("لل") and len(rest) - 2 >= _MIN_STEM:
        # ل + ال is written لل: للرئيس is ل + الرئيس.
        add("ال" + rest[2:])
        add(rest[2:])
        return tuple(variants)
    if rest[:1] in _PREPOSITIONS and len(rest) - 1 >= _MIN_STEM:
        rest = rest[1:]
        add(rest)
    if rest.startswith("ال") and len(rest) - 2 >= _MIN_STEM:
        add(rest[2:])
    return tuple(variants)


def search_terms(text_norm: str) -> str:
    """Index terms for full-text search: every word with its clitic-free forms."""
    # map() over a cached per-word string keeps the loop in C: a story's words repeat.
    return " ".join(map(_token_terms, words(text_norm)))


@lru_cache(maxsize=200_000)
def _token_terms(token: str) -> str:
    return " ".join(clitic_variants(token))


def query_groups(query: str) -> list[list[str]]:
    """Search query as AND-ed groups of OR-ed forms: each word with its clitic-free forms."""
    return [list(clitic_variants(token)) for token in words(normalize_text(query))]
