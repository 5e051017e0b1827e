"""Story identity: canonical article URLs (keeping the parameters that name an article) and ids."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml
from courlan import normalize_url

_WHITESPACE = re.compile(r"\s+")
ID_HEX_CHARS = 20

# Mobile and www. hosts serve the same article as the bare domain.
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")


@dataclass(frozen=True)
class TrackingParams:
    """Query parameter names that never identify an article (newsmon/data/tracking_params.yml)."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]

    def is_tracker(self, name: str) -> bool:
        """Whether a query parameter (any case) is a tracker to drop."""
        lowered = name.lower()
        return lowered in self.exact or lowered.startswith(self.prefixes)


@lru_cache(maxsize=1)
def tracking_params() -> TrackingParams:
    """The packaged tracking-parameter list."""
    source = resources.files("newsmon") / "data" / "tracking_params.yml"
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


def _hash_id(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=ID_HEX_CHARS // 2).hexdigest()


def _flat(text_norm: str) -> str:
    return _WHITESPACE.sub(" ", text_norm).strip()


def article_id(url: str | None, text_norm: str) -> str:
    """Stable id: hash of the canonical URL when there is one, else of the normalised text."""
    return _hash_id("url:" + canonical_url(url) if url else "text:" + _flat(text_norm))


def version_id(url: str, text_norm: str) -> str:
    """Stable id of one version of a URL's article: hash of the canonical URL and the text."""
    return _hash_id("url:" + canonical_url(url) + "\ntext:" + _flat(text_norm))


def delivery_key(rule: str, story_key: str, channel: str) -> str:
    """The idempotency key of one message: the same rule, story and channel give the same key."""
    digest = hashlib.sha256(f"{rule}\x1f{story_key}\x1f{channel}".encode()).hexdigest()
    return digest[:32]
