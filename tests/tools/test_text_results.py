"""A tool that returns text (the common result) gets its result step and bytes without the
serializer: both must be exactly what ``FunctionResultStep(...)`` and ``encode_step`` give,
for any text, and text that cannot be encoded still becomes a repaired ``is_error`` result."""

from __future__ import annotations

import json

import pytest

from agentloop.errors import ToolResultError
from agentloop.tools import ToolRegistry, tool
from agentloop.tools.execution import PreparedCall, finish, prepare
from agentloop.types import FunctionCallStep, FunctionResultStep, encode_step


class Text(str):
    """A str subclass: taken through the serializer, as before."""


@tool
def echo(text: str) -> str:
    """Echo.

    Args:
        text: what to return.
    """
    return text


TEXTS = [  # (an empty text is sent as {}: tests/tools/test_results.py)
    "result for item 0",
    'quotes " and \\ backslashes',
    "control \x00 \x01 \x1f \x7f \n\t\r characters",
    "café ✓ 中文 \u2028 \u2029 \ufeff",
    "astral 😀 \U0001f9e0 \U0010ffff",
    "</script> & <b>",
    Text("a subclass"),
]


def _prepared(call_id: str = "call_0", name: str = "echo") -> PreparedCall:
    registry = ToolRegistry([echo])
    prepared = prepare(registry, FunctionCallStep(id=call_id, name=name, arguments={"text": ""}))
    assert isinstance(prepared, PreparedCall)
    return prepared


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("call_id", ["call_0", 'odd "id" ✓\x01'])
def test_text_results_are_the_serializers_step_and_bytes(text: str, call_id: str) -> None:
    prepared = _prepared(call_id)
    outcome = finish(prepared, text, 0.0)
    built = FunctionResultStep(call_id=call_id, name="echo", result=text)
    assert not outcome.is_error and outcome.error is None and outcome.value is text
    assert outcome.result == built
    assert outcome.result.model_fields_set == built.model_fields_set
    assert type(outcome.result.result) is str
    assert outcome.wire == encode_step(built) == encode_step(outcome.result)
    assert json.loads(outcome.wire)["result"] == text


def test_text_that_cannot_be_encoded_is_a_repaired_error_result() -> None:
    outcome = finish(_prepared(), "caf\udce9", 0.0)
    assert outcome.is_error and isinstance(outcome.error, ToolResultError)
    assert outcome.wire == encode_step(outcome.result)
    assert "not valid Unicode" in json.loads(outcome.wire)["result"]
