"""Raw items to fingerprinted articles: decode → extract → build → entities → dedup signature
→ event terms.

Everything here is pure over one batch, so a batch can be prepared in any worker (a thread,
a process, a Dask worker) from a picklable `PrepareConfig`; only storing needs order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from connectors.decode import decode_batch
from connectors.files import load_files
from enrich.article import build_articles
from enrich.boilerplate import load_rules
from enrich.dedup import DedupParams, fingerprint_batch, fingerprinter_for
from enrich.entities import EntityConfig, tag_articles
from enrich.event_terms import with_event_terms
from enrich.extract import extract_batch
from enrich.text_cap import cap_texts
from newsmon.records import Fingerprint, RawItem, Rejection, StageOutput, StageTiming
from newsmon.stages import Clock


@dataclass(frozen=True, slots=True)
class PrepareConfig:
    """What preparing a batch needs: file size cap, boilerplate rules, taggers, dedup knobs."""

    max_file_bytes: int
    boilerplate_rules: Path | None
    entities: EntityConfig
    dedup: DedupParams
    max_text_chars: int = 1_000_000


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """One batch ready to store: its articles' fingerprints, what was refused, time per stage."""

    fingerprints: list[Fingerprint] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    timings: list[StageTiming] = field(default_factory=list)
    # Inputs this batch accounts for: loaded items and inputs refused while loading.
    read: int = 0


def prepare_items(loaded: StageOutput[RawItem], config: PrepareConfig) -> PreparedBatch:
    """Decode, extract, build, tag and fingerprint a batch of raw items."""
    return _prepare(loaded, config, Clock())


def prepare_files(paths: Sequence[str], config: PrepareConfig) -> PreparedBatch:
    """Load a batch of files (size-capped), then prepare them like any raw items."""
    clock = Clock()
    with clock.stage("load", len(paths)):
        loaded = load_files(paths, config.max_file_bytes)
    return _prepare(loaded, config, clock)


def _prepare(loaded: StageOutput[RawItem], config: PrepareConfig, clock: Clock) -> PreparedBatch:
    with clock.stage("decode", len(loaded.items)):
        decoded = decode_batch(loaded.items)
    with clock.stage("extract", len(decoded.items)):
        cleaned = extract_batch(decoded.items, load_rules(config.boilerplate_rules))
    capped = cap_texts(cleaned.items, config.max_text_chars)
    with clock.stage("build-articles", len(capped.items)):
        built = build_articles(capped.items, datetime.now(UTC))
    with clock.stage("entities", len(built.items)):
        tagger, ner = config.entities.taggers()
        tagged = tag_articles(built.items, tagger, ner)
    with clock.stage("dedup", len(tagged.items)):
        signed = fingerprint_batch(tagged.items, fingerprinter_for(config.dedup))
    with clock.stage("event-terms", len(signed.items)):
        fingerprints = with_event_terms(signed.items)
    return PreparedBatch(
        fingerprints=fingerprints,
        rejections=[
            *loaded.rejections,
            *decoded.rejections,
            *cleaned.rejections,
            *capped.rejections,
            *built.rejections,
            *tagged.rejections,
            *signed.rejections,
        ],
        timings=clock.timings(),
        read=len(loaded.items) + len(loaded.rejections),
    )
