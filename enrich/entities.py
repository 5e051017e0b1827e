"""The entities stage: tag people, places and organisations with canonical ids and offsets.

Matching works on normalised tokens (camel-tools dediac and letter normalisation, see
enrich.arabic) so spelling variants meet; each token may carry proclitics (و ف ب ل ك and
the article ال in their stacking order), which are stripped before lookup. The longest
alias wins at each position. Person names also match through a bounded fuzzy rule: the
same letters up to the transliteration classes in enrich.gazetteer (ج/غ/ق/ك, ت/ط, ...)
for words of at least 4 letters, or one long vowel (ا و ي) more or less for words of at
least 5 letters. Nothing looser, so common words are not turned into names.

Ambiguous short forms (شي is also "thing"; Xi; لولا is also "if not") are kept only
with evidence: a title right before them (الرئيس شي, الرئيس الصيني شي, President Xi), an
unambiguous mention of the same entity earlier in the document, or a named person joined
to them by و (شي وبوتين, بوتين وشي); never right after a blocker word (أي شي).
`context_only` forms (بينغ alone) need the earlier mention.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from enrich.arabic import normalize_text
from enrich.gazetteer import (
    FUZZY_MAX_CHARS,
    FUZZY_MIN_CLASS,
    FUZZY_MIN_VOWEL,
    Alias,
    Form,
    Gazetteer,
    canon,
    load_gazetteer,
    vowel_deletions,
)
from enrich.ner import NerTagger, merge
from newsmon.file_stamp import FileStamp, file_stamp
from newsmon.records import Article, EntityTag, Mention, StageOutput
from newsmon.stages import batched
from newsmon.store.base import ArticleStore

# Letters, digits, Arabic diacritics and tatweel: a token as written, for offsets.
_TOKEN = re.compile(r"[\w\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]+")
_CONJUNCTIONS = "وف"
_PREPOSITIONS = "بلك"
_TOKEN_CACHE = 500_000
_MARKS = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")
# What may stand between the words of one name: spaces, hyphens, quotes. A comma or a full
# stop ends the name: «روسيا، اليوم» is Russia then "today", «ار.تي.ال» is RTL, not RT.
_NAME_GAP = re.compile(r"[\s\-\u2010-\u2015\"'«»“”„‘’\u0640]*")
_GLUE = ".-"
_TITLE_FIELD = "title"


class _Token(NamedTuple):
    # A tuple, not a dataclass: a story makes hundreds, and building them was a third of tagging.
    start: int
    end: int
    raw: str
    norm: str


@dataclass(frozen=True, slots=True)
class _Match:
    first: int  # index of the first token
    last: int  # index of the last token
    start: int  # character offsets into the text
    end: int
    alias: Alias


@lru_cache(maxsize=300_000)
def _normalise(token: str) -> str:
    return normalize_text(token)


@lru_cache(maxsize=300_000)
def proclitic_splits(token: str) -> tuple[tuple[int, str], ...]:
    """(letters stripped, stem) for the token and each proclitic-free form of it."""
    splits = [(0, token)]
    rest, shift = token, 0
    if rest[:1] and rest[0] in _CONJUNCTIONS and len(rest) > 2:
        rest, shift = rest[1:], 1
        splits.append((shift, rest))
    if rest.startswith("لل") and len(rest) > 3:
        # ل + ال is written لل: للرئيس is ل + الرئيس; the mention keeps the whole word.
        splits.append((shift, "ال" + rest[2:]))
        splits.append((shift, rest[2:]))
        return tuple(splits)
    if rest[:1] and rest[0] in _PREPOSITIONS and len(rest) > 2:
        rest, shift = rest[1:], shift + 1
        splits.append((shift, rest))
    if rest.startswith("ال") and len(rest) > 3:
        # The article stays inside the mention: الروسي, not روسي.
        splits.append((shift, rest[2:]))
    return tuple(splits)


def _similar(text: str, alias: str) -> bool:
    """The bounded fuzzy rule for person names (see the module docstring)."""
    if text == alias:
        return True
    if len(alias) < FUZZY_MIN_CLASS or text.isascii() or alias.startswith("ال"):
        return False
    text_c, alias_c = canon(text), canon(alias)
    if text_c == alias_c:
        return True
    if max(len(text), len(alias)) < FUZZY_MIN_VOWEL or abs(len(text_c) - len(alias_c)) != 1:
        return False
    longer, shorter = (text_c, alias_c) if len(text_c) > len(alias_c) else (alias_c, text_c)
    return shorter in vowel_deletions(longer)


def _skip_marks(raw: str, letters: int) -> int:
    """Characters of `raw` that hold its first `letters` letters (diacritics don't count)."""
    seen = 0
    for index, char in enumerate(raw):
        if seen == letters:
            return index
        if not _MARKS.match(char):
            seen += 1
    return len(raw)


def _takes_no_article(alias: Alias) -> bool:
    """Names of places and people never take ال: «الهاربين» is "the fugitives", not Harbin.

    Demonyms (الروسي) and organisations (البريكس) do; aliases that include ال keep it.
    """
    return alias.form is not Form.DEMONYM and alias.entity.type in ("place", "person")


def _coordinated_with_person(tokens: Sequence[_Token], i: int, people: dict[int, int]) -> bool:
    """Token i and a named person joined by و or "and": «شي وبوتين», "Xi and Putin"."""
    after = i + 1
    if after in people and tokens[after].norm.startswith("و"):
        return True
    if tokens[i].norm.startswith("و") and any(last == i - 1 for last in people.values()):
        return True
    if after < len(tokens) and tokens[after].norm == "and" and after + 1 in people:
        return True
    return i >= 2 and tokens[i - 1].norm == "and" and any(last == i - 2 for last in people.values())


def _joined(text: str, tokens: Sequence[_Token], first: int, last: int) -> bool:
    """Whether tokens first..last are written as one name: only spaces, hyphens or quotes
    between them, and no word glued on by a dot or hyphen at either end."""
    for k in range(first, last):
        if not _NAME_GAP.fullmatch(text, tokens[k].end, tokens[k + 1].start):
            return False
    start, end = tokens[first].start, tokens[last].end
    glued_before = start >= 2 and text[start - 1] in _GLUE and text[start - 2].isalnum()
    glued_after = end + 1 < len(text) and text[end] in _GLUE and text[end + 1].isalnum()
    return not (glued_before or glued_after)


class EntityTagger:
    """Tags texts against one gazetteer."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self._by_token: dict[str, tuple[tuple[int, Alias, bool], ...]] = {}

    def _candidates(self, stem: str) -> tuple[tuple[Alias, ...], bool]:
        """Aliases whose first token is the stem; (fuzzy person aliases, True) if none."""
        exact = self.gazetteer.by_first.get(stem)
        if exact:
            return exact, False
        if not FUZZY_MIN_CLASS <= len(stem) <= FUZZY_MAX_CHARS or stem.isascii():
            return (), False
        c = canon(stem)
        fuzzy = list(self.gazetteer.by_canon.get(c, ()))
        if len(stem) >= FUZZY_MIN_VOWEL - 1:
            fuzzy += self.gazetteer.by_canon_deletion.get(c, ())
        if len(stem) >= FUZZY_MIN_VOWEL:
            for deleted in vowel_deletions(c):
                fuzzy += self.gazetteer.by_canon.get(deleted, ())
        return tuple(a for a in fuzzy if _similar(stem, a.tokens[0])), True

    def _token_aliases(self, norm: str) -> tuple[tuple[int, Alias, bool], ...]:
        """(proclitic letters, alias, fuzzy) for every alias a token can start; cached."""
        found = self._by_token.get(norm)
        if found is None:
            # Most words start no alias; remembering that makes tagging one dict lookup a word.
            if len(self._by_token) >= _TOKEN_CACHE:
                self._by_token.clear()
            found = tuple(
                (shift, alias, fuzzy)
                for shift, stem in proclitic_splits(norm)
                for aliases, fuzzy in [self._candidates(stem)]
                for alias in aliases
                if not (len(stem) < len(norm) - shift and _takes_no_article(alias))
            )
            self._by_token[norm] = found
        return found

    def _match_at(self, text: str, tokens: Sequence[_Token], i: int) -> _Match | None:
        candidates = self._token_aliases(tokens[i].norm)
        if not candidates:
            return None
        best: tuple[int, int, int, Alias, int] | None = None  # (length, exact, -form, alias, shift)
        for shift, alias, fuzzy in candidates:
            n = len(alias.tokens)
            if i + n > len(tokens):
                continue
            if alias.case_sensitive and not tokens[i].raw.isupper():
                continue
            person = alias.entity.type == "person" and alias.form is Form.NAME
            rest = zip(alias.tokens[1:], tokens[i + 1 : i + n], strict=True)
            if not all(
                tok.norm == want or (person and _similar(tok.norm, want)) for want, tok in rest
            ):
                continue
            if not _joined(text, tokens, i, i + n - 1):
                continue
            key = (n, 0 if fuzzy else 1, -int(alias.form), alias, shift)
            if best is None or key[:3] > best[:3]:
                best = key
        if best is None:
            return None
        n, _, _, alias, shift = best
        token = tokens[i]
        start = token.start + _skip_marks(token.raw, shift)
        return _Match(i, i + n - 1, start, tokens[i + n - 1].end, alias)

    def _has_title(self, tokens: Sequence[_Token], i: int, demonym_at: set[int]) -> bool:
        """A title ends right before token i, or before a demonym there (الرئيس الصيني شي)."""
        end = i - 1
        if end in demonym_at:
            end -= 1
        for title in self.gazetteer.titles:
            begin = end - len(title) + 1
            if begin < 0:
                continue
            words = [tokens[begin + k].norm for k in range(len(title))]
            # The title's first word may carry proclitics: والرئيس.
            first_ok = any(stem == title[0] for _, stem in proclitic_splits(words[0]))
            if first_ok and tuple(words[1:]) == title[1:]:
                return True
        return False

    def _after_cue(self, tokens: Sequence[_Token], i: int) -> bool:
        """A cue word (a verb of saying or meeting, «مع») right before token i."""
        if i == 0:
            return False
        return any(stem in self.gazetteer.cues for _, stem in proclitic_splits(tokens[i - 1].norm))

    def tag(self, text: str, lang: str) -> tuple[EntityTag, ...]:
        """Entities named in the text, each with its mentions, in order of first mention."""
        tokens = [
            _Token(m.start(), m.end(), m.group(), _normalise(m.group()))
            for m in _TOKEN.finditer(text)
        ]
        matches: list[_Match] = []
        i = 0
        cached = self._by_token
        while i < len(tokens):
            # Most words start no alias: one dict lookup settles them without a call.
            if cached.get(tokens[i].norm) == ():
                i += 1
                continue
            found = self._match_at(text, tokens, i)
            if found is None:
                i += 1
                continue
            matches.append(found)
            i = found.last + 1
        demonym_at = {m.first for m in matches if m.alias.form is Form.DEMONYM}
        people = {
            m.first: m.last
            for m in matches
            if m.alias.entity.type == "person" and m.alias.form is Form.NAME
        }
        # Entities the text names outright, wherever: the ground for cue evidence.
        present = {
            m.alias.entity.id
            for m in matches
            if m.alias.form <= Form.DEMONYM and not m.alias.common_word
        }
        named: set[str] = set()
        kept: dict[str, list[Mention]] = {}
        for match in matches:
            entity = match.alias.entity
            form = match.alias.form
            if form is Form.AMBIGUOUS or match.alias.common_word:
                previous = tokens[match.first - 1].norm if match.first else ""
                if previous in self.gazetteer.blockers:
                    continue
                if not (
                    entity.id in named
                    or self._has_title(tokens, match.first, demonym_at)
                    or _coordinated_with_person(tokens, match.first, people)
                    or (
                        entity.country is not None
                        and entity.country in present
                        and self._after_cue(tokens, match.first)
                    )
                ):
                    continue
            elif form is Form.CONTEXT_ONLY and entity.id not in named:
                continue
            if form is Form.NAME and not match.alias.common_word:
                named.add(entity.id)
            kept.setdefault(entity.id, []).append(
                Mention(match.start, match.end, text[match.start : match.end])
            )
        return tuple(
            EntityTag(
                id=entity_id,
                label=self.gazetteer.entities[entity_id].label(lang),
                type=self.gazetteer.entities[entity_id].type,
                mentions=tuple(mentions),
            )
            for entity_id, mentions in kept.items()
        )


def _in_field(mention: Mention, text_offset: int) -> Mention:
    """A mention of the joined headline and text, placed in its own field."""
    if mention.start < text_offset:
        return replace(mention, field=_TITLE_FIELD)
    return replace(mention, start=mention.start - text_offset, end=mention.end - text_offset)


def tag_story(tagger: EntityTagger, title: str, text: str, lang: str) -> tuple[EntityTag, ...]:
    """Entities of the headline and the text read as one (the headline first).

    The headline is evidence like any sentence: «الرئيس الصيني شي جين بينغ» there makes a bare
    «شي» in the text Xi. Each mention says which field its offsets are in.
    """
    if not title.strip():
        return tagger.tag(text, lang)
    # «|» is no name gap: no name runs from the headline into the text.
    joined = f"{title}\n|\n{text}"
    offset = len(title) + 3
    return tuple(
        replace(tag, mentions=tuple(_in_field(m, offset) for m in tag.mentions))
        for tag in tagger.tag(joined, lang)
    )


def tag_articles(
    articles: list[Article], tagger: EntityTagger, ner: NerTagger | None = None
) -> StageOutput[Article]:
    """The entities stage over a batch: gazetteer entities, plus NER's extra ones if enabled."""
    tagged = [replace(a, entities=tag_story(tagger, a.title, a.text, a.lang)) for a in articles]
    if ner is None:
        return StageOutput(tagged)
    # One model call for the whole batch; NER only sees Arabic (the models are Arabic).
    arabic = [i for i, a in enumerate(tagged) if a.lang == "ar"]
    spans = ner.spans([tagged[i].text for i in arabic])
    for i, found in zip(arabic, spans, strict=True):
        article = tagged[i]
        tagged[i] = replace(article, entities=merge(article.text, article.entities, found))
    return StageOutput(tagged)


def retag_store(
    store: ArticleStore, tagger: EntityTagger, ner: NerTagger | None, batch_size: int
) -> int:
    """Re-tag every stored article (after a gazetteer or model change); returns the count."""
    count = 0
    for batch in batched(store.iter_articles(), batch_size):
        store.replace_entities(tag_articles(batch, tagger, ner).items)
        count += len(batch)
    return count


def tagger_for(gazetteer: Path | None) -> EntityTagger:
    """The gazetteer tagger, built once per gazetteer path and file version."""
    return _tagger(gazetteer, file_stamp(gazetteer))


@lru_cache(maxsize=4)
def _tagger(gazetteer: Path | None, stamp: FileStamp) -> EntityTagger:
    return EntityTagger(load_gazetteer(gazetteer, stamp))


@lru_cache(maxsize=2)
def ner_for(model_dir: Path | None, batch_size: int) -> NerTagger | None:
    """The NER model, loaded once per process; None when no model is configured."""
    return NerTagger(model_dir, batch_size) if model_dir else None


@dataclass(frozen=True, slots=True)
class EntityConfig:
    """The gazetteer and the optional NER model."""

    gazetteer: Path | None
    ner_model: Path | None
    ner_batch_size: int

    def taggers(self) -> tuple[EntityTagger, NerTagger | None]:
        """The gazetteer tagger and the NER tagger (None without a model), built once each."""
        return tagger_for(self.gazetteer), ner_for(self.ner_model, self.ner_batch_size)
