"""Receive the Gemini API's webhook deliveries: verify their signature, read a typed event.

The API signs each delivery as the `Standard Webhooks <https://www.standardwebhooks.com/>`_
specification describes (the SDK's webhook resources hand out the signing secret, a
``whsec_``-prefixed base64 key, once, when the webhook is created):

* headers ``webhook-id`` (unique per message: deduplicate on it, deliveries are at least
  once), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (one or more
  space-separated ``v1,<base64>`` entries; several during a secret rotation);
* each signature is ``base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))`` over the raw
  body bytes, with ``key`` the base64-decoded secret after ``whsec_``.

:func:`verify` checks all of it (constant-time comparison, a timestamp within ``tolerance``
seconds of now, against replays) and returns a :class:`WebhookEvent`; anything wrong raises
:class:`~agentloop.errors.WebhookVerificationError` and nothing of the body is trusted.
The body is the thin event the API sends (``type``, ``version``, ``timestamp``, ``data`` with
the resource ``id``, its status, errors and the request's ``user_metadata``): to act on an
interaction, fetch it (``BackgroundTurn.complete_from_webhook(event)`` does).

:func:`sign` makes the same headers; the emulator uses it to deliver webhooks, and tests can
use it to build deliveries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Union

from pydantic import PrivateAttr, ValidationError

from agentloop.errors import WebhookVerificationError
from agentloop.types import WireModel

__all__ = [
    "DEFAULT_TOLERANCE",
    "WebhookEvent",
    "WebhookEventData",
    "WebhookEventType",
    "sign",
    "verify",
]

DEFAULT_TOLERANCE = 300.0
"""How far (seconds) a delivery's ``webhook-timestamp`` may be from now: 5 minutes."""

WebhookEventType = Union[
    Literal[
        "interaction.requires_action",
        "interaction.completed",
        "interaction.failed",
        "interaction.cancelled",
        "batch.succeeded",
        "batch.failed",
        "batch.cancelled",
        "batch.expired",
        "video.generated",
    ],
    str,
]
"""The events a webhook can subscribe to (the SDK's list, plus any newer one)."""


class WebhookEventData(WireModel):
    """The resource an event is about: its ``id`` and what changed (thin: no steps)."""

    id: str | None = None
    status: str | None = None
    user_metadata: dict[str, Any] | None = None
    error_code: str | int | None = None
    error_message: str | None = None
    output_file_uri: str | None = None
    file_name: str | None = None
    video_uri: str | None = None


class WebhookEvent(WireModel):
    """One verified webhook delivery. ``webhook_id`` is the ``webhook-id`` header."""

    type: WebhookEventType | None = None
    version: str | None = None
    timestamp: str | None = None
    data: WebhookEventData | None = None
    _webhook_id: str = PrivateAttr(default="")

    @property
    def webhook_id(self) -> str:
        """The delivery's ``webhook-id`` (the same on every retry: deduplicate on it)."""
        return self._webhook_id

    @property
    def interaction_id(self) -> str | None:
        """The interaction this event is about (``None`` for batch and video events)."""
        if self.type is not None and self.type.startswith("interaction.") and self.data:
            return self.data.id
        return None

    @property
    def user_metadata(self) -> dict[str, Any]:
        """The ``webhook_config.user_metadata`` of the request (``{}`` when none)."""
        return dict(self.data.user_metadata or {}) if self.data else {}


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        return secret
    text = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError(
            "the webhook signing secret is not a 'whsec_' + base64 key; pass the "
            "new_signing_secret the API returned when the webhook was created"
        ) from None


def _signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    message = f"{webhook_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def sign(
    body: bytes | str,
    secret: str | bytes,
    *,
    webhook_id: str,
    timestamp: float | None = None,
) -> dict[str, str]:
    """The three Standard Webhooks headers of a delivery of ``body`` signed with ``secret``."""
    raw = body.encode() if isinstance(body, str) else body
    stamp = str(int(time.time() if timestamp is None else timestamp))
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + _signature(_key(secret), webhook_id, stamp, raw),
    }


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | bytes | Sequence[str | bytes],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """Check a delivery's signature and timestamp and return its typed event.

    Args:
        body: The raw request body, exactly as received (bytes, or the undecoded text).
        headers: The request headers (any case).
        secret: The webhook's signing secret (``whsec_...``), or several during a rotation.
        tolerance: Most seconds between ``webhook-timestamp`` and now (replay protection).
        now: The current Unix time (default: the clock).

    Raises:
        WebhookVerificationError: a header is missing, the timestamp is out of tolerance,
            no signature matches, or the verified body is not a JSON event.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    webhook_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    given = lower.get("webhook-signature")
    missing = [
        name
        for name, value in (
            ("webhook-id", webhook_id),
            ("webhook-timestamp", stamp),
            ("webhook-signature", given),
        )
        if not value
    ]
    if missing or webhook_id is None or stamp is None or given is None:
        raise WebhookVerificationError(
            f"the delivery has no {', '.join(missing)} header; it was not sent by the API "
            "(or a proxy dropped the headers): answer 400 and do not act on it"
        )
    try:
        sent = int(stamp)
    except ValueError:
        raise WebhookVerificationError(
            f"webhook-timestamp {stamp!r} is not Unix seconds; do not act on the delivery"
        ) from None
    clock = time.time() if now is None else now
    if abs(clock - sent) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {clock - sent:+.0f} s away from now (more than "
            f"{tolerance:g} s): a replayed or delayed delivery; check the server's clock, "
            "or pass a larger tolerance="
        )
    raw = body.encode() if isinstance(body, str) else body
    secrets = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    offered = [part.split(",", 1)[1] for part in given.split() if part.startswith("v1,")]
    for one in secrets:
        expected = _signature(_key(one), webhook_id, stamp, raw)
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            break
    else:
        raise WebhookVerificationError(
            f"no webhook-signature of delivery {webhook_id!r} matches the signing secret: "
            "the body was altered, or the secret is not this webhook's (after a rotation, "
            "pass the old and the new secret)"
        )
    try:
        event = WebhookEvent.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise WebhookVerificationError(
            f"delivery {webhook_id!r} is signed but its body is not a webhook event ({exc})"
        ) from None
    event._webhook_id = webhook_id
    return event
