"""Load the entity gazetteer (YAML data files) into lookup tables for the matcher."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from enrich.arabic import normalize_text, words
from newsmon.file_stamp import FileStamp, file_stamp

ENTITY_TYPES = ("person", "place", "org")
_ID = re.compile(r"^(Q[1-9]\d*|nm:[a-z0-9][a-z0-9-]*)$")
# Letters that outlets use interchangeably when they transliterate a foreign name:
# g as ج/غ/ق/ك, t as ت/ط, s as س/ص, z as ز/ذ/ظ. Only person names are compared this way.
_CANON = str.maketrans({"ج": "غ", "ق": "غ", "ك": "غ", "ط": "ت", "ص": "س", "ذ": "ز", "ظ": "ز"})
_VOWELS = frozenset("اوي")
# Below these lengths a one-letter difference turns one word into another, not a spelling.
FUZZY_MIN_CLASS = 4
FUZZY_MIN_VOWEL = 5
# No name is one word this long; longer "words" (a line of one repeated word, no spaces) are
# never compared loosely, as each vowel deletion copies the whole word: quadratic memory.
FUZZY_MAX_CHARS = 40
# Arabic nisba inflections: صيني → صينية (normalised ه) صينيون صينيين صينيات.
_NISBA_SUFFIXES = ("", "ه", "ون", "ين", "ات")


class Form(IntEnum):
    """How an alias names its entity; decides what evidence a match needs."""

    NAME = 0
    DEMONYM = 1
    AMBIGUOUS = 2
    CONTEXT_ONLY = 3


@dataclass(frozen=True, slots=True)
class GazEntity:
    """A gazetteer entry: canonical id, type and preferred labels."""

    id: str
    type: str
    kind: str
    label_ar: str
    label_en: str
    country: str | None = None  # for people: the country whose mention supports cue evidence

    def label(self, lang: str) -> str:
        """Preferred label in the story's language (Arabic or English)."""
        return self.label_ar if lang == "ar" else self.label_en or self.label_ar

    def display_name(self) -> str:
        """English and Arabic label together, for readers of either (dashboards)."""
        if self.label_en and self.label_ar and self.label_en != self.label_ar:
            return f"{self.label_en} · {self.label_ar}"
        return self.label_en or self.label_ar


@dataclass(frozen=True, slots=True)
class Alias:
    """One spelling of an entity as normalised tokens."""

    tokens: tuple[str, ...]
    entity: GazEntity
    form: Form
    case_sensitive: bool = False
    # Also an everyday word («كيف», «مالي»): needs the evidence an ambiguous form needs.
    common_word: bool = False


@dataclass(frozen=True)
class Gazetteer:
    """Lookup tables: aliases by first token, exact and (for people) by canonical skeleton."""

    entities: dict[str, GazEntity]
    by_first: dict[str, tuple[Alias, ...]]
    by_canon: dict[str, tuple[Alias, ...]]
    by_canon_deletion: dict[str, tuple[Alias, ...]]
    titles: frozenset[tuple[str, ...]]
    blockers: frozenset[str]
    cues: frozenset[str] = frozenset()
    alias_count: int = field(default=0)


def canon(token: str) -> str:
    """Collapse letters that transliterations of one foreign name use interchangeably."""
    return token.translate(_CANON)


def vowel_deletions(token: str) -> set[str]:
    """The token with one long-vowel letter (ا و ي) removed, but not its first or last letter.

    A final vowel changes the name, not its spelling: «بوتينا» (Putina, Butina) is not Putin.
    """
    return {token[:i] + token[i + 1 :] for i in range(1, len(token) - 1) if token[i] in _VOWELS}


def _fuzzy_allowed(alias: Alias) -> bool:
    """Only full names of people, in Arabic script, without the article, may match loosely.

    Foreign names are transliterated many ways; Arabic words with ال are vocabulary, and
    one vowel away from a name there is usually another word (السياسي vs السيسي).
    """
    first = alias.tokens[0]
    return (
        alias.entity.type == "person"
        and alias.form is Form.NAME
        and not first.isascii()
        and not first.startswith("ال")
        and len(first) >= FUZZY_MIN_CLASS
    )


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(words(normalize_text(text)))


def _nisba_forms(demonym: str) -> list[str]:
    """Inflections of an Arabic demonym; English gets its plural."""
    norm = normalize_text(demonym)
    if norm and norm[-1] == "ي":
        return [norm + suffix for suffix in _NISBA_SUFFIXES]
    if norm.isascii():
        return [norm, norm + "s"]
    return [norm]


def _by_lang(value: Any, where: str) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
        raise ValueError(f"{where}: expected a mapping of language to a list of names")
    return {str(lang): [str(name) for name in names] for lang, names in value.items()}


def _merge(raw_entries: Iterable[tuple[dict[str, Any], str]]) -> dict[str, dict[str, Any]]:
    """Entries by id; a later entry with the same id adds names and demonyms to the first."""
    merged: dict[str, dict[str, Any]] = {}
    for raw, where in raw_entries:
        entity_id = str(raw.get("id", ""))
        if not _ID.match(entity_id):
            raise ValueError(f"{where}: bad id {entity_id!r} (want Q<digits> or nm:<slug>)")
        if entity_id not in merged:
            merged[entity_id] = {"where": where, "names": {}, "demonyms": {}, **raw}
            merged[entity_id]["names"] = _by_lang(raw.get("names"), where)
            merged[entity_id]["demonyms"] = _by_lang(raw.get("demonyms"), where)
            continue
        target = merged[entity_id]
        for key in ("names", "demonyms", "ambiguous", "context_only"):
            for lang, names in _by_lang(raw.get(key), where).items():
                target.setdefault(key, {})
                target[key] = dict(target[key] or {})
                target[key][lang] = list(dict.fromkeys([*target[key].get(lang, []), *names]))
    return merged


def _aliases(entity: GazEntity, raw: dict[str, Any]) -> Iterable[tuple[str, Form]]:
    label = raw.get("label") or {}
    for text in (label.get("ar"), label.get("en")):
        if text:
            yield text, Form.NAME
    for names in _by_lang(raw.get("names"), raw["where"]).values():
        for text in names:
            yield text, Form.NAME
    for key, form in (("ambiguous", Form.AMBIGUOUS), ("context_only", Form.CONTEXT_ONLY)):
        for names in _by_lang(raw.get(key), raw["where"]).values():
            for text in names:
                yield text, form


def build(documents: list[tuple[dict[str, Any], str]]) -> Gazetteer:
    """Compile parsed gazetteer documents (mapping, file name) into lookup tables."""
    raw_entries: list[tuple[dict[str, Any], str]] = []
    titles: set[tuple[str, ...]] = set()
    blockers: set[str] = set()
    cues: set[str] = set()
    common: set[str] = set()
    for doc, where in documents:
        for entry in doc.get("entities") or []:
            raw_entries.append((entry, where))
        for key in ("titles", "place_titles"):
            for names in _by_lang(doc.get(key), where).values():
                titles.update(_tokens(name) for name in names)
        for key, target in (("blockers", blockers), ("cues", cues), ("common_words", common)):
            for names in _by_lang(doc.get(key), where).values():
                target.update(normalize_text(name) for name in names)
    by_first: dict[str, list[Alias]] = defaultdict(list)
    by_canon: dict[str, list[Alias]] = defaultdict(list)
    by_deletion: dict[str, list[Alias]] = defaultdict(list)
    entities: dict[str, GazEntity] = {}
    seen: set[tuple[tuple[str, ...], str]] = set()
    for entity_id, raw in _merge(raw_entries).items():
        label = raw.get("label") or {}
        entity_type = raw.get("type")
        if entity_type not in ENTITY_TYPES or not (label.get("ar") or label.get("en")):
            raise ValueError(
                f"{raw['where']}: {entity_id}: needs a type ({', '.join(ENTITY_TYPES)}) and a label"
            )
        entity = GazEntity(
            entity_id,
            entity_type,
            str(raw.get("kind", entity_type)),
            str(label.get("ar") or label.get("en")),
            str(label.get("en") or ""),
            str(raw["country"]) if raw.get("country") else None,
        )
        entities[entity_id] = entity
        forms = list(_aliases(entity, raw))
        for names in raw["demonyms"].values():
            forms += [(form, Form.DEMONYM) for name in names for form in _nisba_forms(name)]
        for text, form in forms:
            tokens = _tokens(text)
            if not tokens or (tokens, entity_id) in seen:
                continue
            seen.add((tokens, entity_id))
            # Latin acronyms (WHO, US, UN) are ordinary words in lower case.
            acronym = text.isascii() and text.replace(".", "").isupper() and len(text) <= 6
            common_word = len(tokens) == 1 and tokens[0] in common
            alias = Alias(tokens, entity, form, case_sensitive=acronym, common_word=common_word)
            by_first[tokens[0]].append(alias)
            first = tokens[0]
            if _fuzzy_allowed(alias):
                by_canon[canon(first)].append(alias)
                if len(first) >= FUZZY_MIN_VOWEL:
                    for deleted in vowel_deletions(canon(first)):
                        by_deletion[deleted].append(alias)
    return Gazetteer(
        entities=entities,
        by_first={k: tuple(v) for k, v in by_first.items()},
        by_canon={k: tuple(v) for k, v in by_canon.items()},
        by_canon_deletion={k: tuple(v) for k, v in by_deletion.items()},
        titles=frozenset(titles),
        blockers=frozenset(blockers),
        cues=frozenset(cues),
        alias_count=len(seen),
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read gazetteer: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a gazetteer file is a mapping with an `entities` list")
    return data


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def default_gazetteer_dir() -> Path:
    """The packaged gazetteer folder (enrich/data/gazetteer)."""
    return Path(str(resources.files("enrich") / "data" / "gazetteer"))


def load_gazetteer(path: Path | None = None, stamp: FileStamp | None = None) -> Gazetteer:
    """Load every *.yml in the gazetteer folder (or one file); cached per path and version."""
    return _load_gazetteer(path, file_stamp(path) if stamp is None else stamp)


@lru_cache(maxsize=4)
def _load_gazetteer(path: Path | None, stamp: FileStamp) -> Gazetteer:
    path = path or default_gazetteer_dir()
    files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"{path}: no gazetteer files (*.yml) found")
    return build([(_read(file), file.name) for file in files])


def display_names(path: Path | None = None) -> dict[str, str]:
    """Every gazetteer entity's English · Arabic name by id."""
    return {i: e.display_name() for i, e in load_gazetteer(path).entities.items()}
