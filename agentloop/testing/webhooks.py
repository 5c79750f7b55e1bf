"""Webhook deliveries of the emulator: signed like the API's, POSTed to loopback URLs only.

When an interaction whose request carried ``webhook_config.uris`` reaches
``requires_action``, a finished status or ``failed``/``cancelled``, the emulator builds the
API's thin event (``type``, ``version``, ``timestamp``, ``data``: the interaction's ``id``,
``status``, errors and ``user_metadata``), signs it with the Standard Webhooks scheme
(:func:`agentloop.webhooks.sign`, the emulator's ``webhook_secret``) and delivers it.

The default deliverer POSTs from a daemon thread (the emulator's lock is never held across
the network), retrying a failed delivery twice (deliveries are at least once), and only to
loopback hosts: an emulator never reaches the network. Every delivery is recorded in
``Emulator.webhook_deliveries``.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agentloop.webhooks import sign

__all__ = [
    "DEFAULT_WEBHOOK_SECRET",
    "WebhookDelivery",
    "event_type_for",
    "post_in_background",
    "webhook_event",
]

log = logging.getLogger("agentloop.testing")

DEFAULT_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"agentloop-emulator-webhooks").decode()
"""The signing secret of an emulator given none (stable, like the default signing key)."""

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_EVENTS = {
    "requires_action": "interaction.requires_action",
    "completed": "interaction.completed",
    "incomplete": "interaction.completed",
    "budget_exceeded": "interaction.completed",
    "failed": "interaction.failed",
    "cancelled": "interaction.cancelled",
}


@dataclass
class WebhookDelivery:
    """One delivery: where, the exact body and headers, and how it went."""

    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None = None  # the receiver's HTTP status, once answered
    error: str | None = None  # why it was not delivered (refused host, connection error)


def event_type_for(status: str) -> str | None:
    """The webhook event of an interaction status (``None``: no event for it)."""
    return _EVENTS.get(status)


def webhook_event(
    event_type: str,
    interaction_id: str,
    status: str,
    timestamp: str,
    user_metadata: Any = None,
    errors: list[dict[str, Any]] | None = None,
) -> bytes:
    """The body of one event, as the API sends it (compact JSON)."""
    data: dict[str, Any] = {"id": interaction_id, "status": status}
    if user_metadata:
        data["user_metadata"] = user_metadata
    if errors:
        data["error_code"] = errors[0].get("code")
        data["error_message"] = errors[0].get("message")
    event = {"type": event_type, "version": "v1", "timestamp": timestamp, "data": data}
    return json.dumps(event, separators=(",", ":")).encode()


def signed(body: bytes, secret: str, webhook_id: str, now: float) -> dict[str, str]:
    return {
        "content-type": "application/json",
        **sign(body, secret, webhook_id=webhook_id, timestamp=now),
    }


def post_in_background(delivery: WebhookDelivery) -> None:
    """POST ``delivery`` from a daemon thread, to a loopback host only (2 retries)."""
    host = urlsplit(delivery.url).hostname or ""
    if host not in _LOOPBACK:
        delivery.error = (
            f"not delivered: {host!r} is not a loopback host (the emulator only delivers "
            "webhooks to 127.0.0.1, localhost or ::1)"
        )
        log.warning("emulator webhook to %s %s", delivery.url, delivery.error)
        return

    def run() -> None:
        # The standard library's client: plain HTTP to loopback needs nothing more.
        request = urllib.request.Request(
            delivery.url, data=delivery.body, headers=delivery.headers, method="POST"
        )
        for attempt in range(3):
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    delivery.status, delivery.error = response.status, None
                    return
            except urllib.error.HTTPError as exc:
                delivery.status, delivery.error = exc.code, f"HTTP {exc.code}"
            except OSError as exc:
                delivery.error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.05 * (attempt + 1))

    threading.Thread(target=run, name="emulator-webhook", daemon=True).start()
