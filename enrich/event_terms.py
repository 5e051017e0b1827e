"""What a story says about its event: its distinctive words and the entities it names, weighted.

Independent reports of one event share the rare words of what happened (الاستفتاء, الميدان
الأحمر, قرعة) and the people, places and organisations involved; they share common words
with every other story. A word weighs more the rarer it is in Arabic at large (Zipf
frequency from wordfreq, enrich/data/term_zipf.tsv.gz, built by scripts/build_term_weights.py),
so the weights do not depend on what the store happens to hold or in which order it came.
Words of the entity mentions are left out of the words and counted once as the entity's
canonical id instead: بوتين, بوتن and لبوتين are one piece of evidence, not three.
"""

from __future__ import annotations

import gzip
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from enrich.arabic import normalize_text
from newsmon.records import Article, Fingerprint

TERM_WEIGHTS = Path(__file__).parent / "data" / "term_zipf.tsv.gz"
_WORD = re.compile(r"[^\W_]{2,}")
# A word as common as «في» (Zipf 7.5) weighs nothing; one missing from the list (rarer than
# Zipf 3: names, technical words) weighs as if it had Zipf 2.
_ZIPF_CEILING = 7.0
_ZIPF_UNLISTED = 2.0
# Numbers of two digits or more (a toll, a year, an anniversary) weigh as a rare word would.
_NUMBER_WEIGHT = 4.0
# The headline names the event: its words count three times.
_TITLE_WEIGHT = 3
# Entities weigh as a fairly rare word, a place (روسيا, الصين) half that. They are named by
# every story of an event, so in an event's summed profile they outgrow its specific words:
# at twice this weight, ten reports of one Putin–Xi call drew in every other Putin–Xi story.
_ENTITY_WEIGHT = {"person": 1.0, "org": 1.0}
_PLACE_WEIGHT = 0.5
# Words kept per story: enough for the event's specifics, few enough to stay cheap.
TOP_WORDS = 60
ENTITY_PREFIX = "@"


@lru_cache(maxsize=1)
def term_zipf(path: Path = TERM_WEIGHTS) -> dict[str, float]:
    """Normalised word -> Zipf frequency in Arabic."""
    table: dict[str, float] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#"):
                continue
            word, _, value = line.rstrip("\n").partition("\t")
            table[word] = float(value)
    return table


@lru_cache(maxsize=200_000)
def _word_weight(word: str) -> float:
    # Cached: a story has hundreds of distinct words, and most recur across stories.
    if word.isdigit():
        return _NUMBER_WEIGHT
    return max(0.0, _ZIPF_CEILING - term_zipf().get(word, _ZIPF_UNLISTED))


def event_terms(article: Article) -> tuple[tuple[str, float], ...]:
    """The story's weighted evidence, unit length, heaviest first: words, then `@entity` ids."""
    named = {
        word
        for tag in article.entities
        for mention in tag.mentions
        for word in _WORD.findall(normalize_text(mention.text))
    }
    counts = Counter(word for word in _WORD.findall(article.text_norm) if word not in named)
    for word in _WORD.findall(normalize_text(article.title)):
        if word not in named:
            counts[word] += _TITLE_WEIGHT
    weighted = {word: (1 + math.log(count)) * _word_weight(word) for word, count in counts.items()}
    top = sorted(((w, t) for t, w in weighted.items() if w > 0), key=lambda p: (-p[0], p[1]))
    terms = {t: w for w, t in top[:TOP_WORDS]}
    for tag in article.entities:
        weight = _ENTITY_WEIGHT.get(tag.type, _PLACE_WEIGHT)
        terms[ENTITY_PREFIX + tag.id] = weight * (1 + math.log(len(tag.mentions) or 1))
    norm = math.sqrt(sum(w * w for w in terms.values())) or 1.0
    return tuple(sorted(((t, w / norm) for t, w in terms.items()), key=lambda p: (-p[1], p[0])))


def with_event_terms(fingerprints: Sequence[Fingerprint]) -> list[Fingerprint]:
    """The batch with each story's event terms, for the events stage to compare when storing."""
    return [replace(fp, event_terms=event_terms(fp.article)) for fp in fingerprints]
