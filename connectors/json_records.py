"""Parse JSON / NDJSON files of story records (one object per story) into raw items."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from connectors.decode import detect_and_decode
from newsmon.errors import RejectedInput
from newsmon.records import ContentType, RawItem, Rejection, StageOutput

# Real story records are a few levels deep with ordinary numbers. Without limits, a file of
# thousands of nested arrays raises RecursionError and a 5,000-digit number ValueError, and
# either one used to stop the whole run.
MAX_DEPTH = 64
MAX_DIGITS = 100


class _NumberTooLong(ValueError):
    pass


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise _NumberTooLong(f"a number with {len(digits):,} digits (limit {MAX_DIGITS})")
    return int(digits)


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


def load_json(text: str) -> Any:
    """Parse one JSON document within the limits; RejectedInput says which was exceeded."""
    too_deep = f"JSON nested more than {MAX_DEPTH} levels deep"
    try:
        value = json.loads(text, parse_int=_bounded_int)
    except RecursionError:
        raise RejectedInput(too_deep) from None
    except _NumberTooLong as exc:
        raise RejectedInput(f"JSON holds {exc}") from None
    except json.JSONDecodeError as exc:
        raise RejectedInput(f"invalid JSON: {exc}") from None
    if _depth(value) > MAX_DEPTH:
        raise RejectedInput(too_deep)
    return value


class StoryRecord(BaseModel):
    """The accepted shape of one record: text or html, plus optional metadata."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    text: str | None = None
    html: str | None = None
    title: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    author: str | None = None

    @field_validator("url")
    @classmethod
    def _parsable_url(cls, value: str | None) -> str | None:
        if value:
            parts = urlsplit(value)  # ValueError: "Invalid IPv6 URL"
            _ = parts.port  # ValueError: "Port out of range 0-65535"
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {value[:200]!r}")
        return value

    @model_validator(mode="after")
    def _has_body(self) -> StoryRecord:
        if not (self.text or self.html):
            raise ValueError("record has neither 'text' nor 'html'")
        return self


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _to_item(source: str, obj: Any) -> RawItem:
    record = StoryRecord.model_validate(obj)
    body, kind = (record.html, ContentType.HTML) if record.html else (record.text, ContentType.TEXT)
    assert body is not None
    return RawItem(
        source=record.url or source,
        data=body.encode("utf-8"),
        content_type=kind,
        declared_encoding="utf-8",
        title=record.title,
        url=record.url,
        published_at=record.published_at,
        author=record.author,
    )


def parse_records(path: str, data: bytes) -> StageOutput[RawItem]:
    """Parse a .json (object or array) or .ndjson/.jsonl file; bad records are rejected by line."""
    text, _ = detect_and_decode(data)
    out: StageOutput[RawItem] = StageOutput()
    entries: list[tuple[str, Any]] = []
    if Path(path).suffix.lower() == ".json":
        parsed = load_json(text)
        rows = parsed if isinstance(parsed, list) else [parsed]
        entries = [(f"{path}#{index}", row) for index, row in enumerate(rows)]
    else:
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                entries.append((where, load_json(line)))
            except RejectedInput as exc:
                out.rejections.append(Rejection(where, "load", str(exc)))
    if not entries and not out.rejections:
        # `[]`, or only a byte-order mark or blank lines: nothing was stored, so say so.
        raise RejectedInput("no records in the file")
    for where, obj in entries:
        try:
            out.items.append(_to_item(where, obj))
        except ValidationError as exc:
            out.rejections.append(Rejection(where, "load", f"bad record: {_describe(exc)}"))
    return out
