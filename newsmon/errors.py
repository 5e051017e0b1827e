"""newsmon's exceptions: one hierarchy, so callers can tell what failed and whether to retry.

NewsmonError
├── RejectedInput      one input cannot be processed; the run goes on without it
├── ConfigError        a settings value or config file cannot be used (also a ValueError)
├── StoreError         the store cannot be opened or used as configured
└── ExternalError      a peer (HTTP server, SMTP, webhook, Elasticsearch) failed;
                       `permanent` says whether trying again can help
"""

from __future__ import annotations


class NewsmonError(Exception):
    """Base of every error newsmon raises on purpose; the message is shown to the user."""


class RejectedInput(NewsmonError):
    """An input cannot be processed; the message is the reason shown to the user."""


class ConfigError(NewsmonError, ValueError):
    """A setting or config file cannot be used; the message names it and the reason."""


class StoreError(NewsmonError):
    """The store cannot be opened or used (bad path, newer schema, corrupt file)."""


class ExternalError(NewsmonError):
    """An external system failed. permanent: retrying cannot help (a 4xx, a refused login).

    retry_after: seconds the peer asked us to wait (HTTP 429/503 Retry-After).
    """

    def __init__(self, reason: str, permanent: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after
