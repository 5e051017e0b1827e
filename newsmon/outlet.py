"""Who published a story: the outlet a source stands for."""

from __future__ import annotations

from pathlib import PurePath

from courlan import extract_domain


def outlet(source: str) -> str:
    """Who published a report: its URL's registered domain, or a file's folder."""
    if "://" in source:
        return extract_domain(source) or source
    return str(PurePath(source).parent)
