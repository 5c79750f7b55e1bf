"""How every example picks its backend, in one place.

With ``GEMINI_API_KEY`` set, examples talk to the real Gemini Interactions API through
``agentloop.Client()``. Without it they run offline on the bundled emulator (its answers are
canned, not a real model), so every example works on a fresh checkout.
"""

from __future__ import annotations

import os

import agentloop

OFFLINE = not os.environ.get("GEMINI_API_KEY")
# How long the background example waits between polls (the emulator needs no waiting; the
# tests set AGENTLOOP_EXAMPLE_POLL_SECONDS=0 for their loopback emulator too).
POLL_SECONDS = float(os.environ.get("AGENTLOOP_EXAMPLE_POLL_SECONDS", 0.0 if OFFLINE else 5.0))

_NOTE = "(offline: GEMINI_API_KEY is not set, so this runs on the bundled agentloop emulator)"


def client() -> agentloop.Client:
    """``agentloop.Client()`` with a key, else a client bound to an in-process emulator."""
    if not OFFLINE:
        return agentloop.Client()
    from agentloop.testing import Emulator

    print(_NOTE)
    return Emulator().client()


def async_client() -> agentloop.AsyncClient:
    """``agentloop.AsyncClient()`` with a key, else one bound to an in-process emulator."""
    if not OFFLINE:
        return agentloop.AsyncClient()
    from agentloop.testing import Emulator

    print(_NOTE)
    return Emulator().async_client()
