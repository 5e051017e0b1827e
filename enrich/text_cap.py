"""A cap on story text: what lies past it is cut, and the cut is recorded, never silent."""

from __future__ import annotations

from dataclasses import replace

from newsmon.records import CleanItem, Rejection, StageOutput


def cut_at_paragraph(text: str, max_chars: int) -> str:
    """The text's first max_chars characters, ending at the last paragraph break among them
    (or mid-paragraph when the first paragraph alone is longer)."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    end = head.rfind("\n")
    return (head[:end] if end > 0 else head).rstrip()


def cap_texts(items: list[CleanItem], max_chars: int) -> StageOutput[CleanItem]:
    """Every item, its text cut to max_chars; each cut item is also listed as a rejection
    (stage `truncate`) saying how much was kept, so the run reports it."""
    out: StageOutput[CleanItem] = StageOutput()
    for item in items:
        kept = cut_at_paragraph(item.text, max_chars)
        if len(kept) < len(item.text):
            reason = (
                f"text cut to its first {len(kept):,} of {len(item.text):,} characters"
                f" (NEWSMON_MAX_TEXT_CHARS={max_chars:,}); the story is stored with that part"
            )
            out.rejections.append(Rejection(item.source, "truncate", reason))
            item = replace(item, text=kept)
        out.items.append(item)
    return out
