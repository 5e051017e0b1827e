"""URLs that carry credentials: split them off, and show a URL without what is secret in it."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit


def _public_netloc(netloc: str) -> str:
    # After the last "@": an IPv6 host keeps its brackets and the port stays as written.
    return netloc.rsplit("@", 1)[-1]


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """The URL without user and password, and the user and password it held (decoded)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    bare = urlunsplit(parts._replace(netloc=_public_netloc(parts.netloc)))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return bare, user, password


def redact(url: str) -> str:
    """The URL without user, password, query and fragment, for logs and messages."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, _public_netloc(parts.netloc), parts.path, "", ""))


def origin_only(url: str) -> str:
    """Scheme and host of a URL whose path may itself be the secret (a webhook's token)."""
    parts = urlsplit(url)
    hidden = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{_public_netloc(parts.netloc)}{hidden}"
