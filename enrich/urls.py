"""Canonical article URLs: one spelling per article, keeping the parameters that name it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml
from courlan import normalize_url

# Mobile and www. hosts serve the same article as the bare domain.
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")


@dataclass(frozen=True)
class TrackingParams:
    """Query parameter names that never identify an article (enrich/data/tracking_params.yml)."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]

    def is_tracker(self, name: str) -> bool:
        """Whether a query parameter (any case) is a tracker to drop."""
        lowered = name.lower()
        return lowered in self.exact or lowered.startswith(self.prefixes)


@lru_cache(maxsize=1)
def tracking_params() -> TrackingParams:
    """The packaged tracking-parameter list."""
    source = resources.files("enrich") / "data" / "tracking_params.yml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    return TrackingParams(
        exact=frozenset(str(name).lower() for name in data["exact"]),
        prefixes=tuple(str(prefix).lower() for prefix in data["prefixes"]),
    )


def canonical_url(url: str) -> str:
    """Canonical URL: https, lower-case host without www./m., no port, fragment or trackers.

    Every other query parameter is kept, in sorted order: outlets name articles in the query
    (viewstory.php?newsid=2001), so dropping unknown parameters would merge different stories.
    """
    try:
        # Non-strict: courlan drops only the parameters its tracker list names.
        normalized = str(normalize_url(url.strip(), strict=False))
    except ValueError:
        return url.strip()
    parts = urlsplit(normalized)
    host = parts.netloc
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
            break
    trackers = tracking_params()
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name and not trackers.is_tracker(name)
    )
    # Outlets serve one article over http and https; the scheme is not part of its identity.
    scheme = "https" if parts.scheme == "http" else parts.scheme
    path = parts.path or ("/" if query else "")
    return urlunsplit((scheme, host, path, urlencode(query), ""))
