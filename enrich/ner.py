"""Optional statistical NER: camel-tools' NERecognizer over a model directory the user supplies.

The gazetteer gives canonical ids; NER only adds people, places and organisations the
gazetteer lacks. Its entities get ids `ner:<type>:<normalised text>`, stable across
stories so they can still be counted and searched.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from enrich.arabic import normalize_text
from newsmon.records import EntityTag, Mention

log = logging.getLogger("newsmon.ner")

# camel-tools labels (B-/I- prefixes) to our entity types; MISC is not an entity we track.
_TYPES = {"PERS": "person", "PER": "person", "LOC": "place", "ORG": "org"}
_SENTENCE = re.compile(r"[^\n.!?؟]+[.!?؟]*")


@dataclass(frozen=True, slots=True)
class NerSpan:
    """One entity span a model found: type and character offsets into the text."""

    type: str
    start: int
    end: int


def ensure_camel_catalogue() -> None:
    """Point camel-tools at a bundled empty catalogue when no real one is installed.

    `camel_tools.data` reads catalogue.json from $CAMELTOOLS_DATA (or ~/.camel_tools) on
    import and tries to download it when missing, which fails offline. A model directory
    the user supplies needs no catalogue entry, so an empty catalogue is enough.
    """
    configured = os.environ.get("CAMELTOOLS_DATA")
    data_dir = Path(configured).expanduser() if configured else Path.home() / ".camel_tools"
    if (data_dir / "catalogue.json").is_file():
        return
    bundled = Path(str(resources.files("enrich") / "data" / "camel_catalogue"))
    log.info("no camel-tools catalogue in %s; using the bundled empty one", data_dir)
    os.environ["CAMELTOOLS_DATA"] = str(bundled)


def _sentences(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in _SENTENCE.finditer(text) if m.group().strip()]


def _token_offsets(sentence: str, tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Offsets of each token in its sentence; camel's tokenizer returns substrings in order."""
    offsets, cursor = [], 0
    for token in tokens:
        found = sentence.find(token, cursor)
        if found < 0:  # a token the tokenizer rewrote: give it an empty span, skip it
            offsets.append((cursor, cursor))
            continue
        offsets.append((found, found + len(token)))
        cursor = found + len(token)
    return offsets


def bio_spans(labels: Sequence[str], offsets: Sequence[tuple[int, int]]) -> list[NerSpan]:
    """Decode B-/I- labels into spans; an I- without its B- starts a span (lenient, as CoNLL)."""
    spans: list[NerSpan] = []
    current: list[Any] | None = None  # [type, start, end]
    for label, (start, end) in zip(labels, offsets, strict=True):
        prefix, _, kind = label.partition("-")
        entity_type = _TYPES.get(kind)
        continues = prefix == "I" and current is not None and current[0] == entity_type
        if entity_type and start < end and continues:
            assert current is not None
            current[2] = end
            continue
        if current:
            spans.append(NerSpan(*current))
            current = None
        if entity_type and start < end:
            current = [entity_type, start, end]
    if current:
        spans.append(NerSpan(*current))
    return spans


class NerTagger:
    """Batches texts through a local CAMeL/BERT token-classification model."""

    def __init__(self, model_dir: Path, batch_size: int = 32) -> None:
        if not (model_dir / "config.json").is_file():
            raise ValueError(f"{model_dir}: not a model directory (no config.json)")
        ensure_camel_catalogue()
        from camel_tools.ner import NERecognizer  # heavy (torch, transformers): only when used
        from camel_tools.tokenizers.word import simple_word_tokenize

        self._recognizer = NERecognizer(str(model_dir), use_gpu=False)
        self._tokenize = simple_word_tokenize
        self.batch_size = batch_size

    def spans(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        """Entity spans for each text; all sentences of all texts go through one predict call."""
        sentences: list[tuple[int, int, list[str], list[tuple[int, int]]]] = []
        for index, text in enumerate(texts):
            for offset, sentence in _sentences(text):
                tokens = self._tokenize(sentence)
                if tokens:
                    local = _token_offsets(sentence, tokens)
                    absolute = [(offset + s, offset + e) for s, e in local]
                    sentences.append((index, offset, tokens, absolute))
        labels = self._recognizer.predict([s[2] for s in sentences], self.batch_size)
        found: list[list[NerSpan]] = [[] for _ in texts]
        for (index, _, _, offsets), sentence_labels in zip(sentences, labels, strict=True):
            # The model drops tokens past its maximum length: label what it returned.
            found[index] += bio_spans(sentence_labels, offsets[: len(sentence_labels)])
        return found


def merge(
    text: str, gazetteer_tags: tuple[EntityTag, ...], spans: Sequence[NerSpan]
) -> tuple[EntityTag, ...]:
    """Gazetteer entities plus NER spans that overlap none of their mentions."""
    taken = [(m.start, m.end) for tag in gazetteer_tags for m in tag.mentions if m.field == "text"]
    extra: dict[str, tuple[str, str, list[Mention]]] = {}
    for span in spans:
        if any(span.start < end and start < span.end for start, end in taken):
            continue
        surface = text[span.start : span.end]
        entity_id = f"ner:{span.type}:{normalize_text(surface)}"
        extra.setdefault(entity_id, (surface, span.type, []))[2].append(
            Mention(span.start, span.end, surface)
        )
    added = tuple(
        EntityTag(entity_id, label, entity_type, tuple(mentions))
        for entity_id, (label, entity_type, mentions) in extra.items()
    )
    return gazetteer_tags + added
