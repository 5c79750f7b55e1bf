"""``Interaction.output_text`` edge cases, checked against explicit answers and the SDK."""

from __future__ import annotations

from typing import Any

import pytest
from _lazy import lazy_module

from agentloop.types import Interaction

sdk = lazy_module("google.genai.interactions")  # the official SDK, a test-only oracle


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


IMG = {"type": "image", "uri": "files/i", "mime_type": "image/png"}


def out(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "model_output", "content": list(blocks)}


THOUGHT = {"type": "thought", "signature": "c2ln", "summary": [text("hidden")]}
CALL = {"type": "function_call", "id": "c", "name": "f", "arguments": {}}
RESULT = {"type": "function_result", "call_id": "c", "result": "ok"}
USER = {"type": "user_input", "content": [text("question")]}

CASES: list[tuple[str, list[dict[str, Any]] | None, str]] = [
    ("no steps key", None, ""),
    ("empty steps", [], ""),
    ("single text", [out(text("a"))], "a"),
    ("blocks joined without separator", [out(text("a"), text("b"))], "ab"),
    ("thoughts are skipped", [THOUGHT, out(text("a")), THOUGHT], "a"),
    ("consecutive outputs joined", [out(text("a")), THOUGHT, out(text("b"))], "ab"),
    ("image ends the run", [out(text("a"), IMG, text("b"))], "b"),
    ("trailing image skipped before text", [out(text("a"), IMG)], "a"),
    ("stops at user_input", [out(text("old")), USER, out(text("new"))], "new"),
    ("only user input", [USER], ""),
    ("text after call", [out(text("a")), CALL, RESULT, out(text("b"))], "b"),
    ("trailing tool steps skipped", [out(text("a")), CALL], "a"),
    ("thought only", [THOUGHT], ""),
    ("empty text block", [out(text(""))], ""),
    ("unknown step ends the run", [out(text("a")), {"type": "x_step"}, out(text("b"))], "b"),
    ("unknown content block", [out(text("a"), {"type": "holo"}, text("b"))], "b"),
    ("output with no content", [out(text("a")), {"type": "model_output"}], "a"),
]


@pytest.mark.parametrize(("name", "steps", "expected"), CASES, ids=[c[0] for c in CASES])
def test_output_text(name: str, steps: list[dict[str, Any]] | None, expected: str) -> None:
    payload: dict[str, Any] = {"id": "i", "status": "completed"}
    if steps is not None:
        payload["steps"] = steps
    assert Interaction.model_validate(payload).output_text == expected
    assert sdk.Interaction.model_validate(payload).output_text == expected
    # Reading a property never changes what is sent back.
    assert Interaction.model_validate(payload).model_dump(mode="json") == payload


def test_output_image_matches_sdk() -> None:
    payload = {"id": "i", "status": "completed", "steps": [out(IMG, text("caption"))]}
    ours = Interaction.model_validate(payload).output_image
    theirs = sdk.Interaction.model_validate(payload).output_image
    assert ours is not None and theirs is not None
    assert ours.model_dump(mode="json") == IMG == theirs.model_dump(mode="json", exclude_none=True)


def test_error_reads_like_the_docs() -> None:
    from agentloop.types import Interaction

    failed = Interaction.model_validate(
        {"id": "i", "status": "failed", "errors": [{"code": "internal", "message": "boom"}]}
    )
    assert failed.error is not None and failed.error.message == "boom"
    step_error = Interaction.model_validate(
        {
            "id": "i",
            "status": "failed",
            "steps": [{"type": "model_output", "error": {"code": 13, "message": "bad"}}],
        }
    )
    assert step_error.error is not None and step_error.error.code == 13
    assert Interaction.model_validate({"id": "i", "status": "completed"}).error is None


def test_discriminator_dumped_when_built_in_python_not_invented_for_wire_data() -> None:
    from agentloop.types import FunctionResultStep, TextContent, ThoughtStep, UnknownStep

    assert TextContent(text="x").model_dump() == {"type": "text", "text": "x"}
    assert ThoughtStep().model_dump_json() == '{"type":"thought"}'
    built = FunctionResultStep(call_id="c", result="r")
    assert built.model_dump() == {"type": "function_result", "call_id": "c", "result": "r"}
    # Data that arrived without a key goes back without it: dumping never invents keys.
    assert ThoughtStep.model_validate({"signature": "s"}).model_dump() == {"signature": "s"}
    assert UnknownStep().model_dump() == {}
