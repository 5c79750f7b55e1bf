"""Thought signatures: HMACs that let the emulator catch clients that rewrite history.

A signature binds a thought (its summary and any extra keys) *and* the model steps issued
right after it in the same interaction. In a stateless request the client resends history;
the emulator then checks that each thought is one it issued, is unaltered, and is followed by
the same model steps (client ``function_result`` steps may sit in between).

Layout (base64 of): ``MAGIC | nonce(8) | count(2) | tag(thought) | tag(step)*count | mac(16)``.
Per-step tags are keyed HMACs too, so a mismatch can name the altered step, and the final
MAC proves the whole signature came from this emulator.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Any

from ._errors import ApiException
from .tokens import canonical_text

__all__ = ["CLIENT_STEP_TYPES", "DEFAULT_SIGNING_KEY", "Signer", "canonical"]

DEFAULT_SIGNING_KEY = b"agentloop-cli-offline-emulator"
"""The thought-signature key of every emulator given none (``Emulator()``, the CLI's offline
emulator, ``agentloop emulator``): fixed, like the real API accepts its signatures across
sessions, so a conversation saved in one process continues in another against a new
emulator. Pass ``signing_key=`` to have an emulator reject another one's signatures."""

_MAGIC = b"ALE1"
_TAG = 8
_MAC = 16
# Steps the client writes; they may be interleaved with the model steps a thought covers.
CLIENT_STEP_TYPES = frozenset({"function_result", "user_input"})


def canonical(step: dict[str, Any]) -> bytes:
    """A stable byte form of a step dict (sorted keys, no nulls): the token rule's JSON text."""
    return canonical_text(step).encode()


def _thought_body(thought: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in thought.items() if k != "signature"}


class Signer:
    """Issues and verifies thought signatures with a secret (default
    :data:`DEFAULT_SIGNING_KEY`)."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or DEFAULT_SIGNING_KEY

    def _tag(self, nonce: bytes, index: int, data: bytes) -> bytes:
        msg = nonce + index.to_bytes(2, "big") + data
        return hmac.new(self._secret, msg, hashlib.sha256).digest()[:_TAG]

    def sign(self, thought: dict[str, Any], covered: list[dict[str, Any]]) -> str:
        """The signature of ``thought`` issued together with the model steps ``covered``."""
        nonce = secrets.token_bytes(8)
        head = _MAGIC + nonce + len(covered).to_bytes(2, "big")
        tags = self._tag(nonce, 0, canonical(_thought_body(thought)))
        for i, step in enumerate(covered, start=1):
            tags += self._tag(nonce, i, canonical(step))
        mac = hmac.new(self._secret, head + tags, hashlib.sha256).digest()[:_MAC]
        return base64.b64encode(head + tags + mac).decode()

    def verify(self, steps: list[dict[str, Any]], where: str = "input") -> None:
        """Check every thought in ``steps`` (dicts as received); raise a 400 on any violation."""
        for i, step in enumerate(steps):
            if step.get("type") == "thought":
                self._verify_one(steps, i, where)

    def _verify_one(self, steps: list[dict[str, Any]], i: int, where: str) -> None:
        resend = "model steps must be resent exactly as received"
        signature = steps[i].get("signature")
        if not signature:
            raise ApiException(
                400,
                f"{where}[{i}] (thought) has no signature; {resend}, thought signatures included",
            )
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raw = b""
        if len(raw) < len(_MAGIC) + 10 + _TAG + _MAC or not raw.startswith(_MAGIC):
            raise ApiException(
                400,
                f"{where}[{i}] (thought) carries a signature this server did not issue "
                f"(invalid or altered signature); {resend}",
            )
        nonce = raw[4:12]
        count = int.from_bytes(raw[12:14], "big")
        tags, mac = raw[14:-_MAC], raw[-_MAC:]
        expected = hmac.new(self._secret, raw[:14] + tags, hashlib.sha256).digest()[:_MAC]
        if len(tags) != _TAG * (count + 1) or not hmac.compare_digest(mac, expected):
            raise ApiException(
                400,
                f"{where}[{i}] (thought) carries a signature this server did not issue "
                f"(invalid or altered signature); {resend}",
            )
        if not hmac.compare_digest(
            tags[:_TAG], self._tag(nonce, 0, canonical(_thought_body(steps[i])))
        ):
            raise ApiException(
                400, f"{where}[{i}] (thought) was altered after it was issued; {resend}"
            )
        j = i + 1
        for k in range(1, count + 1):
            while j < len(steps) and steps[j].get("type") == "function_result":
                j += 1
            if j >= len(steps) or steps[j].get("type") in CLIENT_STEP_TYPES:
                raise ApiException(
                    400,
                    f"{where}[{j}]: a model step issued with the thought at {where}[{i}] "
                    f"is missing; {resend}",
                )
            tag = tags[k * _TAG : (k + 1) * _TAG]
            if not hmac.compare_digest(tag, self._tag(nonce, k, canonical(steps[j]))):
                kind = steps[j].get("type")
                raise ApiException(
                    400,
                    f"{where}[{j}] ({kind}) differs from the step issued with the "
                    f"thought at {where}[{i}] (altered or reordered); {resend}",
                )
            j += 1
