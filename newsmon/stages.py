"""Batch helpers: batches of a stream, a per-item function that rejects failures, stage times."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from newsmon.errors import RejectedInput
from newsmon.records import Rejection, StageOutput, StageTiming

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


def map_stage(
    stage: str,
    items: Iterable[In],
    fn: Callable[[In], Out],
    source_of: Callable[[In], str],
) -> StageOutput[Out]:
    """Apply fn to every item; a failing item is rejected with its reason and the batch goes on."""
    out: StageOutput[Out] = StageOutput()
    for item in items:
        try:
            out.items.append(fn(item))
        except RejectedInput as exc:
            out.rejections.append(Rejection(source_of(item), stage, str(exc)))
        except Exception as exc:
            # A bug must not cost the rest of the batch; the traceback goes to the log.
            log.exception("%s: unexpected error in stage %s", source_of(item), stage)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            out.rejections.append(Rejection(source_of(item), stage, reason))
    return out


def batched(items: Iterable[In], size: int) -> Iterator[list[In]]:
    """Consecutive lists of at most `size` items (the last may be shorter)."""
    batch: list[In] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# Batches per worker a run over more than one batch is cut into: the slowest batch then
# holds up the others' end by a fraction of the run, not half of it.
BATCHES_PER_WORKER = 4
# Balancing never cuts below this: each batch costs a task run and a store transaction.
MIN_BALANCED_BATCH = 50


def balanced_batch_size(items: int, most: int, workers: int) -> int:
    """Batch size for `items` inputs: at most `most`; above one batch, small enough that
    each of `workers` gets several.

    With a ceiling of 500, 600 files made a batch of 500 and one of 100: one worker
    prepared most of the run alone while the other sat idle. Up to `most` items stay one
    batch, which needs no worker process at all.
    """
    if items <= most:
        return most
    batches = max(-(-items // most), BATCHES_PER_WORKER * max(1, workers))
    return min(most, max(MIN_BALANCED_BATCH, -(-items // batches)))


class Clock:
    """Time and item counts per stage, summed over batches (and over workers)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.items: dict[str, int] = {}

    @contextmanager
    def stage(self, name: str, n_in: int) -> Iterator[None]:
        """Time the block as part of a stage that took n_in items."""
        start = time.perf_counter()
        yield
        self.add([StageTiming(name, time.perf_counter() - start, n_in)])

    def add(self, timings: Iterable[StageTiming]) -> None:
        """Add timings measured elsewhere (a batch prepared by a worker)."""
        for t in timings:
            self.seconds[t.stage] = self.seconds.get(t.stage, 0.0) + t.seconds
            self.items[t.stage] = self.items.get(t.stage, 0) + t.items_in

    def timings(self) -> list[StageTiming]:
        """Per-stage totals, in the order the stages first ran."""
        return [StageTiming(s, self.seconds[s], self.items[s]) for s in self.seconds]
