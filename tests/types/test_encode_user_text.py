"""``encode_user_text`` writes the bytes ``encode_step`` writes for a user text step (and
``encode_result_text`` those of a tool's text result), so a history entry (sent again by the
stateless strategy, journaled) is the same whichever path encoded it."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from agentloop.errors import ToolResultError
from agentloop.tools import ToolRegistry
from agentloop.tools.execution import PreparedCall, finish, prepare
from agentloop.tools.results import to_result
from agentloop.types import (
    FunctionCallStep,
    FunctionResultStep,
    ModelOutputStep,
    TextContent,
    encode_step,
    input_to_steps,
)
from agentloop.types._encode import encode_result_text, encode_user_text

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


def _random_texts(seed: int) -> Iterator[str]:
    """300 texts of up to 40 characters, each from one plane (surrogates left out)."""
    rng = random.Random(seed)
    ranges = [(0, 0x7F), (0x80, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x10FFFF)]
    for _ in range(300):
        low, high = rng.choice(ranges)
        yield "".join(chr(rng.randint(low, high)) for _ in range(rng.randint(0, 40)))


def test_random_text_from_every_plane() -> None:
    for text in _random_texts(27):
        assert encode_user_text(text) == encode_step(input_to_steps(text)[0]), repr(text)


def test_a_lone_surrogate_cannot_be_encoded_either_way() -> None:
    text = "bad \ud800 half"
    with pytest.raises(UnicodeEncodeError):
        encode_user_text(text)
    with pytest.raises(Exception):  # noqa: B017 (pydantic's own serialization error)
        encode_step(input_to_steps(text)[0])


# ``encode_result_text``: a tool's text result, spliced the same way.


@pytest.mark.parametrize("text", SAMPLES)
def test_a_text_result_has_the_serializers_bytes(text: str) -> None:
    step = FunctionResultStep(call_id=f"call {text}", name="tool_é", result=text)
    assert encode_result_text(f"call {text}", "tool_é", text) == encode_step(step)


def test_random_text_results_from_every_plane() -> None:
    for text in _random_texts(28):
        step = FunctionResultStep(call_id="c1", name="lookup", result=text)
        assert encode_result_text("c1", "lookup", text) == encode_step(step), repr(text)


def test_a_finished_call_has_the_step_and_bytes_the_model_would() -> None:
    """``finish`` builds the result step without ``FunctionResultStep.__init__`` and splices
    a text result: the step, its fields set and its bytes are those of the plain way, for
    text and non-text results; a lone surrogate is reported as before."""

    def echo(value: str) -> str:
        """Echo."""
        return value

    registry = ToolRegistry([echo])
    call = FunctionCallStep(id="call_1", name="echo", arguments={"value": "x"})
    prepared = prepare(registry, call)
    assert isinstance(prepared, PreparedCall)
    for value in ["plain", 'quote " and \n', "", None, {"a": [1, 2.5, None]}, ["x", 3]]:
        outcome = finish(prepared, value, 0.0)
        plain = FunctionResultStep(call_id="call_1", name="echo", result=to_result(value))
        assert outcome.result == plain
        assert outcome.result.model_fields_set == plain.model_fields_set
        assert outcome.wire == encode_step(plain)
    bad = finish(prepared, "half \ud800", 0.0)
    assert bad.is_error and isinstance(bad.error, ToolResultError)
    assert "not valid Unicode" in str(bad.result.result)
    assert bad.wire == encode_step(bad.result)


# A model's text answer: ``encode_step`` splices its texts (``_encode._model_text``) and must
# write the serializer's bytes.


def _serializer(step: Any) -> bytes:
    return type(step).__pydantic_serializer__.to_json(
        step, by_alias=True, exclude_unset=True, serialize_as_any=True
    )


def _output(*texts: str, **block: Any) -> ModelOutputStep:
    content = [{"type": "text", "text": text, **block} for text in texts]
    return ModelOutputStep.model_validate_json(
        json.dumps({"type": "model_output", "content": content})
    )


@pytest.mark.parametrize("text", SAMPLES)
def test_a_model_text_answer_has_the_serializers_bytes(text: str) -> None:
    for step in (_output(text), _output(text, "and more", text)):
        assert encode_step(step) == _serializer(step)
    built = ModelOutputStep(content=[TextContent(text=text)])  # built in Python, not received
    assert encode_step(built) == _serializer(built)


def test_random_model_texts_from_every_plane() -> None:
    for text in _random_texts(29):
        step = _output(text)
        assert encode_step(step) == _serializer(step), repr(text)


@pytest.mark.parametrize(
    "wire",
    [
        {"type": "model_output", "content": []},
        {"type": "model_output", "content": None},
        {"type": "model_output"},
        {"content": [{"type": "text", "text": "no step type"}]},
        {"type": "model_output", "content": [{"text": "no block type"}]},
        {"type": "model_output", "content": [{"type": "text"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "a", "annotations": []}]},
        {"type": "model_output", "content": [{"type": "text", "text": "a", "extra": 1}]},
        {"type": "model_output", "content": [{"type": "text", "text": "a"}], "error": None},
        {"type": "model_output", "content": [{"type": "text", "text": "a"}], "future": [1]},
        {
            "type": "model_output",
            "content": [{"type": "text", "text": "a"}, {"type": "image", "uri": "gs://x"}],
        },
    ],
)
def test_other_model_outputs_keep_the_serializers_bytes(wire: dict[str, Any]) -> None:
    step = ModelOutputStep.model_validate_json(json.dumps(wire))
    assert encode_step(step) == _serializer(step)


def test_a_model_text_with_a_lone_surrogate_is_refused_as_before() -> None:
    step = ModelOutputStep(content=[TextContent(text="bad \ud800 half")])
    with pytest.raises(Exception):  # noqa: B017 (pydantic's own serialization error)
        encode_step(step)
