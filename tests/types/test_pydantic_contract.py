"""Pins the one private pydantic mechanism the wire models use.

``WireModel.__init__`` adds ``type`` discriminators for objects built in Python; it is marked
``__pydantic_base_init__`` so that validation from the wire does not run it (validation stays
~35% faster, and a wire object keeps exactly the keys it arrived with). If a pydantic release
stops honouring the flag, this test fails before behaviour silently changes.
"""

from __future__ import annotations

from unittest import mock

from agentloop.types import FunctionCallStep, Interaction, TextContent
from agentloop.types._base import WireModel


def test_validation_does_not_route_through_init() -> None:
    payload = {
        "id": "i1",
        "status": "completed",
        "steps": [{"type": "model_output", "content": [{"type": "text", "text": "hi"}]}],
    }
    with mock.patch.object(WireModel, "__init__", side_effect=AssertionError("called")):
        Interaction.model_validate(payload)
        Interaction.model_validate_json(Interaction.model_validate(payload).model_dump_json())


def test_python_construction_sets_the_discriminator() -> None:
    assert TextContent(text="x").model_dump() == {"type": "text", "text": "x"}
    call = FunctionCallStep(id="c", name="f", arguments={})
    assert call.model_dump()["type"] == "function_call"
    received = TextContent.model_validate({"text": "x", "type": "text"})
    assert received.model_dump() == {"text": "x", "type": "text"}  # keys as received
