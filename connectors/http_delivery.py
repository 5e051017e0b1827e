"""One POST of an alert to an HTTP API, with its answer sorted into sent, retry or give up.

Shared by the webhook and the chat channels (Slack, Microsoft Teams, Telegram): a 2xx is
sent; a redirect, and a 4xx other than 408/425/429, will not get better by retrying; a
timeout, an unreachable host, 408/425/429 and 5xx are retried (after Retry-After if given).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from connectors.alert_channel import DeliveryError
from connectors.fetch import retry_after_seconds

_RETRYABLE_4XX = {408, 425, 429}
_BODY_IN_ERROR = 200


def delivery_client(timeout: float) -> httpx.Client:
    """An HTTP client for alert APIs: redirects are errors, not followed."""
    return httpx.Client(
        timeout=timeout, follow_redirects=False, headers={"User-Agent": "newsmon-alerts/0.1"}
    )


def post(
    client: httpx.Client,
    url: str,
    name: str,
    *,
    content: bytes | None = None,
    json: Any = None,
    headers: dict[str, str] | None = None,
    refusal: Callable[[httpx.Response], tuple[str, float | None]] | None = None,
) -> httpx.Response:
    """POST to `url`; the 2xx response, or DeliveryError naming the channel and the answer.

    `refusal` reads an API's own reason and wait from a refused answer (default: the start
    of its body and its Retry-After header).
    """
    try:
        response = client.post(url, content=content, json=json, headers=headers)
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"{name} timed out ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{name} unreachable: {type(exc).__name__}: {exc}") from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    detail, wait = (refusal or body_refusal)(response)
    reason = f"{name} answered {status} {response.reason_phrase}" + (
        f": {detail}" if detail else ""
    )
    if 300 <= status < 400:
        where = response.headers.get("location", "?")
        raise DeliveryError(f"{reason} (redirect to {where}; set the final URL)", True)
    if status in _RETRYABLE_4XX or status >= 500:
        raise DeliveryError(reason, retry_after=wait)
    raise DeliveryError(reason, permanent=True)


def body_refusal(response: httpx.Response) -> tuple[str, float | None]:
    """The start of a refused answer's body, and its Retry-After in seconds."""
    wait = retry_after_seconds(response.headers.get("retry-after"))
    return response.text[:_BODY_IN_ERROR].strip(), wait
