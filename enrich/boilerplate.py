"""Strip site boilerplate from plain article text and find its headline, by rules in a data file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from enrich.arabic import arabic_share, normalize_arabic, normalize_text
from newsmon.errors import RejectedInput
from newsmon.file_stamp import FileStamp, file_stamp

_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")
_NON_WORD = re.compile(r"[\W_]+")
# A run of end marks before a space; «..» and «...» join a headline's parts
# («مصر.. تعديل مرتقب»), they do not end a sentence.
_SENTENCE_END = re.compile(r"(?<![.!?؟。])(?!\.\.)[.!?؟。]+(?=\s|$)")
# A headline is short; a first line longer than this is the story's opening paragraph.
_HEADLINE_MAX_WORDS = 30
_HEADLINE_MAX_CHARS = 250
_DERIVED_TITLE_CHARS = 160


@dataclass(frozen=True)
class BoilerplateRules:
    """Compiled line rules for the header and footer zones."""

    header_window: int
    header_exact: frozenset[str]
    header_patterns: tuple[re.Pattern[str], ...]
    header_latin_label: re.Pattern[str]
    footer_exact: frozenset[str]
    footer_patterns: tuple[re.Pattern[str], ...]


def line_key(line: str) -> str:
    """Comparison key: normalised, case-folded, punctuation and spaces removed."""
    return _NON_WORD.sub("", normalize_text(line))


def _compile(patterns: list[str], where: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(normalize_arabic(pattern), re.IGNORECASE))
        except re.error as exc:
            raise ValueError(f"{where}: bad pattern {pattern!r}: {exc}") from exc
    return tuple(compiled)


def parse_rules(data: dict[str, Any], where: str) -> BoilerplateRules:
    """Build rules from the parsed YAML mapping; `where` names the file in errors."""
    try:
        header, footer = data["header"], data["footer"]
        return BoilerplateRules(
            header_window=int(data.get("header_window", 8)),
            header_exact=frozenset(line_key(e) for e in header.get("exact", [])),
            header_patterns=_compile(header.get("patterns", []), where),
            header_latin_label=_compile([data["header_latin_label"]], where)[0],
            footer_exact=frozenset(line_key(e) for e in footer.get("exact", [])),
            footer_patterns=_compile(footer.get("patterns", []), where),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{where}: malformed boilerplate rules ({exc!r})") from exc


def load_rules(path: Path | None = None) -> BoilerplateRules:
    """Load rules from a YAML file, or the packaged default when path is None (cached)."""
    return _load_rules(path, file_stamp(path))


@lru_cache(maxsize=8)
def _load_rules(path: Path | None, stamp: FileStamp) -> BoilerplateRules:
    if path is None:
        source = resources.files("enrich") / "data" / "boilerplate.yml"
        text, where = source.read_text(encoding="utf-8"), "enrich/data/boilerplate.yml"
    else:
        text, where = path.read_text(encoding="utf-8"), str(path)
    return parse_rules(yaml.safe_load(text), where)


def _matches(norm: str, exact: frozenset[str], patterns: tuple[re.Pattern[str], ...]) -> bool:
    """Whether a normalised line equals an exact entry or matches a pattern."""
    if _NON_WORD.sub("", norm) in exact:
        return True
    bare = _EDGE_PUNCT.sub("", norm)
    return any(p.search(bare) for p in patterns)


def _is_header_label(norm: str, rules: BoilerplateRules, arabic_doc: bool) -> bool:
    if _matches(norm, rules.header_exact, rules.header_patterns):
        return True
    return arabic_doc and bool(rules.header_latin_label.fullmatch(norm.strip()))


def _is_headline(line: str) -> bool:
    if len(line) > _HEADLINE_MAX_CHARS or len(line.split()) > _HEADLINE_MAX_WORDS:
        return False
    # Two or more sentences make a paragraph, not a headline.
    return len(_SENTENCE_END.findall(line.rstrip(".!?؟ "))) == 0


def derive_title(paragraph: str) -> str:
    """A title from an opening paragraph: its first sentence, cut at a word near 160 chars."""
    match = _SENTENCE_END.search(paragraph)
    sentence = paragraph[: match.start()] if match else paragraph
    if len(sentence) <= _DERIVED_TITLE_CHARS:
        return sentence.strip()
    cut = sentence[:_DERIVED_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(" ،,:;-–") + "…"


def clean_text(text: str, rules: BoilerplateRules, title: str | None = None) -> tuple[str, str]:
    """Return (title, clean text); pass title when metadata already has it (HTML, feeds)."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    arabic_doc = arabic_share(text) > 0.5
    normalised: dict[str, str] = {}

    def norm(line: str) -> str:
        # Only lines in the header and footer zones are ever normalised, each once.
        if line not in normalised:
            normalised[line] = normalize_text(line)
        return normalised[line]

    window = rules.header_window
    head = [line for line in lines[:window] if not _is_header_label(norm(line), rules, arabic_doc)]
    lines = head + lines[window:]
    if not lines:
        raise RejectedInput("no text left after boilerplate removal")
    title_given = title is not None
    if title is None:
        if _is_headline(lines[0]) and len(lines) > 1:
            title, lines = lines[0], lines[1:]
        else:
            title = derive_title(lines[0])
    title_key = line_key(title)

    def repeats_title(line: str) -> bool:
        # Bullets and punctuation are not part of the key, so «• headline» repeats it too.
        return bool(title_key) and _NON_WORD.sub("", norm(line)) == title_key

    headline_lines = [line for i, line in enumerate(lines) if i < window and repeats_title(line)]
    lines = [line for i, line in enumerate(lines) if not (i < window and repeats_title(line))]
    while lines and (
        repeats_title(lines[-1])
        or _matches(norm(lines[-1]), rules.footer_exact, rules.footer_patterns)
    ):
        lines.pop()
    if lines:
        return title, "\n".join(lines)
    # A wire flash is one sentence: it is both the headline and the whole story.
    if headline_lines and not _is_boilerplate(norm(title), rules, arabic_doc):
        flash = headline_lines[0]
        return (title if title_given else flash), flash
    raise RejectedInput("no text left after boilerplate removal")


def _is_boilerplate(norm: str, rules: BoilerplateRules, arabic_doc: bool) -> bool:
    """Whether a normalised line is a header label or a footer line by the rules."""
    footer = _matches(norm, rules.footer_exact, rules.footer_patterns)
    return footer or _is_header_label(norm, rules, arabic_doc)
