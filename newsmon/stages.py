"""Batch helpers: split a stream into batches; run a per-item function, rejecting failures."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from newsmon.errors import RejectedInput
from newsmon.records import Rejection, StageOutput

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
