"""Near-duplicate detection: MinHash over shingles, LSH band keys, containment to confirm."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal, Protocol

import numpy as np
import xxhash
from datasketch import MinHash, MinHashLSH

from enrich.arabic import words
from enrich.events import EventParams, link_event
from newsmon.ids import version_id
from newsmon.records import (
    Article,
    DedupCandidate,
    Fingerprint,
    StageOutput,
    StoreResult,
    StoryLink,
)
from newsmon.stages import map_stage
from newsmon.store.base import Store

ShingleKind = Literal["word", "char"]
# Fixed so that band keys written by one process or run match those of every other.
_MINHASH_SEED = 1
_MARGIN = 0.25
# Signatures are compared for this many LSH candidates (microseconds each), so a true copy
# sharing one band is not crowded out by chance candidates in a large store.
_SKETCHED_CANDIDATES = 50
_FIRST_ROUND = 8


@dataclass(frozen=True, slots=True)
class DedupParams:
    """The dedup knobs (see the README for how the defaults were chosen)."""

    shingle: ShingleKind = "word"
    size: int = 3
    num_perm: int = 128
    lsh_threshold: float = 0.3
    min_containment: float = 0.7
    min_shingles: int = 12
    # Shared band keys estimate similarity, so the best match is among the first few; checking
    # only those keeps a story syndicated a thousand times from costing a thousand checks.
    max_candidates: int = 5
    # Only a text's first words are compared: a book-length input costs what a long report
    # does, and two texts that agree on their first 20,000 words are one story.
    max_words: int = 20_000


class DedupIndex(Protocol):
    """What linking needs from the store: LSH lookups and the candidates' texts."""

    def lsh_candidates(self, band_keys: Sequence[int], limit: int = 5) -> list[DedupCandidate]:
        """Articles sharing band keys with these, with their sketches; most shared keys
        first, at most limit."""
        ...

    def story_texts(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """For each id: (normalised text, cluster id)."""
        ...


def shingles(
    text_norm: str, kind: ShingleKind = "word", size: int = 3, max_words: int | None = None
) -> frozenset[str]:
    """The set of word or character n-grams of a normalised text's first max_words words."""
    tokens = words(text_norm)[:max_words]
    if kind == "word":
        if len(tokens) < size:
            return frozenset([" ".join(tokens)]) if tokens else frozenset()
        return frozenset(" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1))
    joined = " ".join(tokens)
    if len(joined) < size:
        return frozenset([joined]) if joined else frozenset()
    return frozenset(joined[i : i + size] for i in range(len(joined) - size + 1))


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of the smaller set found in the larger: 1.0 when one text is cut from the other."""
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return len(small & large) / len(small)


@lru_cache(maxsize=4)
def fingerprinter_for(params: DedupParams) -> Fingerprinter:
    """One Fingerprinter per parameter set and process (its permutations take a moment)."""
    return Fingerprinter(params)


class Fingerprinter:
    """Computes shingles and LSH band keys with one fixed MinHash family and band layout."""

    def __init__(self, params: DedupParams) -> None:
        self.params = params
        self._permutations = MinHash(num_perm=params.num_perm, seed=_MINHASH_SEED).permutations
        lsh = MinHashLSH(threshold=params.lsh_threshold, num_perm=params.num_perm)
        # datasketch picks bands × rows minimising false positives + negatives at the threshold.
        self.bands, self.rows = lsh.b, lsh.r

    @property
    def layout(self) -> str:
        """Everything band keys depend on; stored keys are only comparable under the same one."""
        p = self.params
        layout = f"{p.shingle}{p.size}:w{p.max_words}:xxh32:perm{p.num_perm}:seed{_MINHASH_SEED}"
        return f"{layout}:{self.bands}x{self.rows}"

    def signature(self, grams: frozenset[str]) -> np.ndarray:
        """The MinHash signature of a shingle set (uint32 values)."""
        minhash = MinHash(
            num_perm=self.params.num_perm,
            seed=_MINHASH_SEED,
            # xxh32: as accurate as datasketch's default SHA-1 here, 2.4x faster (README).
            hashfunc=xxhash.xxh32_intdigest,
            permutations=self._permutations,
            scheme="affine32",
        )
        minhash.update_batch([g.encode("utf-8") for g in grams])
        values: np.ndarray = minhash.hashvalues
        return values

    def band_keys(self, values: np.ndarray) -> tuple[int, ...]:
        """One 64-bit key per LSH band of a signature."""
        keys = []
        for band in range(self.bands):
            chunk = values[band * self.rows : (band + 1) * self.rows].tobytes()
            digest = hashlib.blake2b(band.to_bytes(2, "big") + chunk, digest_size=8).digest()
            keys.append(int.from_bytes(digest, "big", signed=True))
        return tuple(keys)

    def shingles(self, text_norm: str) -> frozenset[str]:
        """The shingles dedup compares for a normalised text."""
        p = self.params
        return shingles(text_norm, p.shingle, p.size, p.max_words)

    def fingerprint(self, article: Article) -> Fingerprint:
        """Shingle count, signature and band keys of one article's normalised text."""
        grams = self.shingles(article.text_norm)
        if len(grams) < self.params.min_shingles:
            return Fingerprint(article=article, shingle_count=len(grams), band_keys=())
        values = self.signature(grams)
        return Fingerprint(article, len(grams), self.band_keys(values), values.tobytes())


def fingerprint_batch(
    articles: list[Article], fingerprinter: Fingerprinter
) -> StageOutput[Fingerprint]:
    """Fingerprint a batch of articles."""
    return map_stage("dedup", articles, fingerprinter.fingerprint, lambda a: a.source)


def estimated_containments(fp: Fingerprint, candidates: Sequence[DedupCandidate]) -> list[float]:
    """Containment of each candidate in the article (or the reverse, whichever set is the
    smaller), estimated from their MinHash signatures and set sizes, in one array pass."""
    own = np.frombuffer(fp.signature, dtype=np.uint32)
    comparable = [c for c in candidates if len(c.signature) == len(fp.signature)]
    agree: dict[str, float] = {}
    if comparable and len(own):
        theirs = np.frombuffer(b"".join(c.signature for c in comparable), dtype=np.uint32)
        shares = np.count_nonzero(theirs.reshape(len(comparable), len(own)) == own, axis=1)
        agree = {c.article_id: float(n) / len(own) for c, n in zip(comparable, shares, strict=True)}
    return [
        _containment_from_jaccard(agree.get(c.article_id, 0.0), fp.shingle_count, c.shingle_count)
        for c in candidates
    ]


def _containment_from_jaccard(jaccard: float, size_a: int, size_b: int) -> float:
    # |A∩B| = J·|A∪B| and |A∪B| = (|A|+|B|)/(1+J).
    return jaccard * (size_a + size_b) / ((1 + jaccard) * min(size_a, size_b))


def link_story(
    fp: Fingerprint,
    index: DedupIndex,
    params: DedupParams,
    shingled: dict[str, frozenset[str]] | None = None,
) -> StoryLink:
    """Link a new article to the stored copy it most likely duplicates, once confirmed exactly.

    LSH candidates come most-shared-bands first. Their signatures estimate containment in
    microseconds; candidates below the estimate margin (several standard errors of a
    128-permutation estimate, so no true copy) are dropped, and the rest are checked
    exactly, best estimate first. The first to pass is the match. The top few candidates are
    looked at first, the rest only when none of those passes: a typical copy costs one
    signature round and one exact check. `shingled` keeps stored copies' shingles across
    the calls of one batch: a story syndicated by many outlets is shingled once, not per copy.
    """
    own = StoryLink(cluster_id=fp.article.id)
    if not fp.band_keys:
        return own
    found = index.lsh_candidates(fp.band_keys, _SKETCHED_CANDIDATES)
    found = [c for c in found if c.article_id != fp.article.id]
    fingerprinter = fingerprinter_for(params)
    grams: frozenset[str] | None = None
    exact_checks = params.max_candidates
    for window in (found[:_FIRST_ROUND], found[_FIRST_ROUND:]):
        estimates = estimated_containments(fp, window)
        ranked = sorted(zip(estimates, (c.article_id for c in window), strict=True), reverse=True)
        for estimate, candidate_id in ranked:
            if estimate < params.min_containment - _MARGIN or exact_checks == 0:
                break
            exact_checks -= 1
            text_norm, cluster_id = index.story_texts([candidate_id])[candidate_id]
            grams = grams or fingerprinter.shingles(fp.article.text_norm)
            theirs = shingled.get(candidate_id) if shingled is not None else None
            if theirs is None:
                theirs = fingerprinter.shingles(text_norm)
                if shingled is not None:
                    shingled[candidate_id] = theirs
            score = containment(grams, theirs)
            if score >= params.min_containment:
                return StoryLink(cluster_id, duplicate_of=candidate_id, similarity=round(score, 4))
    return own


def same_version(
    fp: Fingerprint,
    stored_norm: str,
    params: DedupParams,
    shingled: dict[str, frozenset[str]] | None = None,
) -> bool:
    """Whether a text read again at a known URL is the stored one, give or take small edits.

    Both texts must hold nearly all of each other's shingles (containment over the larger
    set): a flash grown into a full report, or another story at a reused URL, is not.
    `shingled` keeps the stored text's shingles by article id, for the next read of the URL.
    """
    if " ".join(fp.article.text_norm.split()) == " ".join(stored_norm.split()):
        return True
    fingerprinter = fingerprinter_for(params)
    ours = fingerprinter.shingles(fp.article.text_norm)
    theirs = shingled.get(fp.article.id) if shingled is not None else None
    if theirs is None:
        theirs = fingerprinter.shingles(stored_norm)
        if shingled is not None:
            shingled[fp.article.id] = theirs
    if not ours or not theirs:
        return False
    overlap = len(ours & theirs) / max(len(ours), len(theirs))
    return overlap >= params.min_containment


def as_versions(
    index: DedupIndex, fingerprints: Sequence[Fingerprint], params: DedupParams
) -> list[Fingerprint]:
    """Articles whose URL is known but whose text is not the stored one, as new versions.

    Such an article gets an id of its URL and text, and `version_of` the first article stored
    at the URL; reading the same version again gives the same id, so it is stored once.
    """
    with_url = [fp.article.id for fp in fingerprints if fp.article.url]
    stored = {i: norm for i, (norm, _) in index.story_texts(with_url).items()} if with_url else {}
    # A page updated often comes back many times in one batch: its stored text is shingled once.
    shingled: dict[str, frozenset[str]] = {}
    out = []
    for fp in fingerprints:
        article = fp.article
        base = stored.get(article.id)
        if article.url is None or base is None:
            if article.url is not None:
                stored[article.id] = article.text_norm  # the first in this batch is the base
            out.append(fp)
            continue
        if same_version(fp, base, params, shingled):
            out.append(fp)
            continue
        new_id = version_id(article.url, article.text_norm)
        out.append(replace(fp, article=replace(article, id=new_id, version_of=article.id)))
    return out


def store_stories(
    store: Store,
    fingerprints: Sequence[Fingerprint],
    run_id: str,
    params: DedupParams,
    events: EventParams | None = None,
) -> StoreResult:
    """Store a batch, linking each new article to its story and its event inside the store's
    transaction."""
    store.check_layout(fingerprinter_for(params).layout)
    versioned = as_versions(store, fingerprints, params)
    shingled: dict[str, frozenset[str]] = {}  # freed with the batch
    event_params = events or EventParams()
    return store.add_articles(
        versioned,
        run_id,
        lambda fp: link_story(fp, store, params, shingled),
        lambda fp, story: link_event(fp, story, store, event_params),
    )


def rebuild_stories(store: Store, params: DedupParams, batch_size: int = 500) -> int:
    """Recompute every band key and story link, oldest article first; returns articles seen."""
    fingerprinter = fingerprinter_for(params)
    store.reset_stories()
    store.check_layout(fingerprinter.layout)
    # Read everything first: relinking writes to the table the cursor would be reading.
    articles = list(store.iter_articles())
    for start in range(0, len(articles), batch_size):
        batch = [fingerprinter.fingerprint(a) for a in articles[start : start + batch_size]]
        store.relink(batch, lambda fp: link_story(fp, store, params))
    return len(articles)
