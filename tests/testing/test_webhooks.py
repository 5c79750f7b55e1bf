"""Webhooks: verify deliveries (Standard Webhooks), and finish a background turn from one.

The emulator POSTs signed events to a real loopback HTTP server here; the receiver verifies
them with ``agentloop.webhooks.verify`` and hands the event to the ``BackgroundTurn``, which
finishes without polling.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agentloop import Conversation
from agentloop.errors import StateError, WebhookVerificationError
from agentloop.testing import Emulator
from agentloop.testing.webhooks import DEFAULT_WEBHOOK_SECRET
from agentloop.webhooks import WebhookEvent, sign, verify

SECRET = "whsec_" + base64.b64encode(b"a test signing secret of 32 byte").decode()
BODY = json.dumps(
    {
        "type": "interaction.completed",
        "version": "v1",
        "timestamp": "2026-05-04T12:00:00Z",
        "data": {"id": "v1_abc", "status": "completed", "user_metadata": {"job": 7}},
    }
).encode()
NOW = 1_780_000_000.0


def test_a_signed_delivery_verifies_into_a_typed_event() -> None:
    headers = sign(BODY, SECRET, webhook_id="msg_1", timestamp=NOW)
    assert headers["webhook-signature"].startswith("v1,")
    event = verify(BODY, headers, SECRET, now=NOW + 10)
    assert isinstance(event, WebhookEvent)
    assert event.type == "interaction.completed" and event.interaction_id == "v1_abc"
    assert event.webhook_id == "msg_1" and event.user_metadata == {"job": 7}
    # Header names in any case, the body as text.
    upper = {k.upper(): v for k, v in headers.items()}
    assert verify(BODY.decode(), upper, SECRET, now=NOW).data is not None


def test_the_standard_webhooks_reference_vector() -> None:
    """The signature scheme matches the Standard Webhooks specification's example."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    assert verify(body, headers, secret, now=1614265330).model_dump() == {"test": 2432232314}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), "no webhook-signature"),
        (lambda h, b: (h, b.replace(b"v1_abc", b"v1_xyz")), "no webhook-signature"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), "webhook-id"),
        (lambda h, b: ({**h, "webhook-timestamp": str(int(NOW) - 3600)}, b), "away from now"),
        (lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), "Unix seconds"),
    ],
)
def test_tampered_stale_or_incomplete_deliveries_are_refused(change: Any, needle: str) -> None:
    headers, body = change(sign(BODY, SECRET, webhook_id="msg_1", timestamp=NOW), BODY)
    with pytest.raises(WebhookVerificationError, match=needle):
        verify(body, headers, SECRET, now=NOW)


def test_secret_rotation_accepts_old_and_new() -> None:
    new = "whsec_" + base64.b64encode(b"the new secret after a rotation!").decode()
    old_headers = sign(BODY, SECRET, webhook_id="m", timestamp=NOW)
    new_headers = sign(BODY, new, webhook_id="m", timestamp=NOW)
    both = {**new_headers, "webhook-signature": " ".join(
        [new_headers["webhook-signature"], old_headers["webhook-signature"]]
    )}  # fmt: skip
    assert verify(BODY, both, SECRET, now=NOW).webhook_id == "m"
    assert verify(BODY, old_headers, [new, SECRET], now=NOW).webhook_id == "m"
    with pytest.raises(WebhookVerificationError, match="matches the signing secret"):
        verify(BODY, old_headers, new, now=NOW)
    with pytest.raises(WebhookVerificationError, match="whsec_"):
        verify(BODY, old_headers, "whsec_not base64!", now=NOW)


class _Receiver(BaseHTTPRequestHandler):
    deliveries: queue.Queue[tuple[bytes, dict[str, str]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.deliveries.put((body, dict(self.headers.items())))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, queue.Queue[tuple[bytes, dict[str, str]]]]]:
    deliveries: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"deliveries": deliveries})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/gemini", deliveries
    finally:
        server.shutdown()
        server.server_close()


def test_a_background_turn_completes_from_the_emulators_webhook(
    receiver: tuple[str, queue.Queue[tuple[bytes, dict[str, str]]]],
) -> None:
    url, deliveries = receiver
    emu = Emulator(background_polls=1000)  # it never finishes by polling here
    conv = Conversation(
        emu.client(),
        webhook_config={"uris": [url], "user_metadata": {"ticket": "T-1"}},
    )
    handle = conv.send("Summarise the report", background=True)
    assert not handle.done and handle.id is not None

    emu.advance(handle.id)  # the run finishes server-side: the API calls the webhook
    body, headers = deliveries.get(timeout=10)
    event = verify(body, headers, DEFAULT_WEBHOOK_SECRET)
    assert event.type == "interaction.completed" and event.interaction_id == handle.id
    assert event.user_metadata == {"ticket": "T-1"}

    gets_before = sum(r.method == "GET" for r in emu.requests)
    turn = handle.complete_from_webhook(event)
    assert turn is not None and turn.status == "completed" and handle.done
    assert sum(r.method == "GET" for r in emu.requests) == gets_before + 1  # one fetch, no polls
    assert turn.output_text and conv.history[-1].type == "model_output"
    delivery = emu.webhook_deliveries[-1]
    deadline = time.monotonic() + 10
    while delivery.status is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert delivery.status == 204 and delivery.error is None


def test_a_webhook_for_another_interaction_is_refused() -> None:
    emu = Emulator(background_polls=1000)
    conv = Conversation(emu.client())
    handle = conv.send("Summarise", background=True)
    other = WebhookEvent.model_validate(
        {"type": "interaction.completed", "data": {"id": "v1_other", "status": "completed"}}
    )
    with pytest.raises(StateError, match="v1_other"):
        handle.complete_from_webhook(other)
    assert not handle.done


def test_the_emulator_only_delivers_to_loopback_hosts() -> None:
    emu = Emulator()
    conv = Conversation(emu.client(), webhook_config={"uris": ["https://x.com/h"]})
    conv.send("hi")
    (delivery,) = emu.webhook_deliveries
    assert delivery.error is not None and "not a loopback host" in delivery.error
    assert verify(delivery.body, delivery.headers, emu.webhook_secret).type == (
        "interaction.completed"
    )


async def test_an_async_background_turn_completes_from_a_webhook() -> None:
    from agentloop import AsyncConversation
    from agentloop.testing.webhooks import WebhookDelivery

    deliveries: list[WebhookDelivery] = []
    emu = Emulator(background_polls=1000, deliver_webhook=deliveries.append)
    conv = AsyncConversation(emu.async_client(), webhook_config={"uris": ["http://127.0.0.1:1/h"]})
    handle = await conv.send("Summarise", background=True)
    assert (
        handle.id is not None
        and await handle.complete_from_webhook(
            WebhookEvent.model_validate(
                {"type": "interaction.completed", "data": {"id": handle.id}}
            )
        )
        is None
    )  # still running server-side: the GET shows it, the turn goes on waiting
    emu.advance(handle.id)
    (delivery,) = deliveries
    event = verify(delivery.body, delivery.headers, emu.webhook_secret)
    turn = await handle.complete_from_webhook(event)
    assert turn is not None and turn.status == "completed"
