"""``encode_user_text`` writes the bytes ``encode_step`` writes for a user text step, so a
plain text turn's history entry (sent again by the stateless strategy, journaled) is the same
whichever path encoded it."""

from __future__ import annotations

import random

import pytest

from agentloop.types import encode_step, input_to_steps
from agentloop.types._encode import encode_user_text

SAMPLES = [
    "",
    "hello",
    'quote " backslash \\ slash / done',
    "".join(chr(c) for c in range(0x20)),  # every control character
    "\x7f DEL, \u0080 and \u009f (C1), \u2028 \u2029 (JS line breaks), \ufeff",
    "é ü 中文 𝄞 🙂 (astral), \U0010ffff",
    "</script><!-- & ' < >",
    "line\r\nbreak\ttab\b\f",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_same_bytes_as_the_serializer(text: str) -> None:
    assert encode_user_text(text) == encode_step(input_to_steps(text)[0])


def test_random_text_from_every_plane() -> None:
    rng = random.Random(27)
    ranges = [(0, 0x7F), (0x80, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x10FFFF)]
    for _ in range(300):
        low, high = rng.choice(ranges)
        text = "".join(chr(rng.randint(low, high)) for _ in range(rng.randint(0, 40)))
        assert encode_user_text(text) == encode_step(input_to_steps(text)[0]), repr(text)


def test_a_lone_surrogate_cannot_be_encoded_either_way() -> None:
    text = "bad \ud800 half"
    with pytest.raises(UnicodeEncodeError):
        encode_user_text(text)
    with pytest.raises(Exception):  # noqa: B017 (pydantic's own serialization error)
        encode_step(input_to_steps(text)[0])
