"""The deterministic demo model: tools, schemas, images, memory, honesty about being fake."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Literal

import pydantic
import pytest
from emulator_helpers import create

from agentloop.testing import Emulator
from agentloop.testing._schema import generate
from agentloop.types import Interaction


def _it(data: dict[str, Any]) -> Interaction:
    return Interaction.model_validate(data)


def _tool(
    name: str, description: str, props: dict[str, Any], required: list[str] | None = None
) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "description": description,
        "parameters": {
            "type": "object",
            "properties": props,
            "required": required if required is not None else list(props),
        },
    }


WEATHER = _tool("get_weather", "Current weather for a city", {"city": {"type": "string"}})
TIME = _tool("get_time", "Current local time in a timezone", {"timezone": {"type": "string"}})
CONVERT = _tool(
    "convert_currency",
    "Convert an amount between currencies",
    {
        "amount": {"type": "number"},
        "to": {"type": "string", "enum": ["USD", "EUR", "JPY"]},
        "note": {"type": "string"},
    },
    required=["amount", "to"],
)


def test_plain_text_is_honest_and_deterministic() -> None:
    emu = Emulator()
    a = _it(create(emu, input="What is the capital of France?"))
    b = _it(create(emu, input="What is the capital of France?"))
    assert a.output_text == b.output_text
    assert "emulator" in a.output_text and "capital of France" in a.output_text
    assert a.steps is not None and a.steps[0].type == "thought"


def test_picks_the_matching_tool_and_fills_arguments() -> None:
    emu = Emulator()
    out = _it(
        create(
            emu, input="What's the weather like in San Francisco?", tools=[TIME, WEATHER, CONVERT]
        )
    )
    assert out.status == "requires_action"
    assert [(c.name, c.arguments) for c in out.function_calls] == [
        ("get_weather", {"city": "San Francisco"})
    ]
    out = _it(create(emu, input="Please convert 120.5 dollars to eur", tools=[WEATHER, CONVERT]))
    assert [(c.name, c.arguments) for c in out.function_calls] == [
        ("convert_currency", {"amount": 120.5, "to": "EUR"})
    ]


def test_a_task_parameter_takes_the_request_never_its_first_word() -> None:
    desk = _tool("researcher", "Ask the research agent to do a task", {"task": {"type": "string"}})
    emu = Emulator()
    out = _it(create(emu, input="Ask the researcher to find out about tea", tools=[desk]))
    assert [c.arguments for c in out.function_calls] == [{"task": "find out about tea"}]
    out = _it(create(emu, input="use researcher for Oslo", tools=[desk]))
    assert [c.arguments for c in out.function_calls] == [{"task": "Oslo"}]  # a name: taken


def test_parallel_calls() -> None:
    emu = Emulator()
    out = _it(
        create(
            emu, input="What is the weather in Paris and the time in Tokyo?", tools=[WEATHER, TIME]
        )
    )
    calls = {(c.name, tuple(c.arguments.values())) for c in out.function_calls}
    assert calls == {("get_weather", ("Paris",)), ("get_time", ("Tokyo",))}
    out = _it(create(emu, input="Weather in London and Berlin?", tools=[WEATHER]))
    assert [c.arguments["city"] for c in out.function_calls] == ["London", "Berlin"]
    assert len({c.id for c in out.function_calls}) == 2


def test_answers_from_results_then_stops_calling() -> None:
    emu = Emulator()
    first = _it(create(emu, input="Weather in Oslo?", tools=[WEATHER]))
    call = first.function_calls[0]
    second = _it(
        create(
            emu,
            previous_interaction_id=first.id,
            tools=[WEATHER],
            input=[
                {
                    "type": "function_result",
                    "call_id": call.id,
                    "name": call.name,
                    "result": {"temp_c": -3, "sky": "snow"},
                }
            ],
        )
    )
    assert second.status == "completed" and not second.function_calls
    assert "snow" in second.output_text and "get_weather" in second.output_text


def test_tool_choice_none_and_any() -> None:
    emu = Emulator()
    none = _it(
        create(
            emu, input="weather in Rome", tools=[WEATHER], generation_config={"tool_choice": "none"}
        )
    )
    assert none.status == "completed"
    forced = _it(
        create(
            emu,
            input="hello",
            tools=[WEATHER],
            generation_config={
                "tool_choice": {"allowed_tools": {"mode": "any", "tools": ["get_weather"]}}
            },
        )
    )
    assert forced.function_calls[0].name == "get_weather"
    unrelated = _it(create(emu, input="tell me a joke", tools=[WEATHER]))
    assert unrelated.status == "completed"


class Color(str, Enum):
    red = "red"
    blue = "blue"


class Part(pydantic.BaseModel):
    name: str
    count: int = pydantic.Field(ge=5, le=9)


class Order(pydantic.BaseModel):
    title: str = pydantic.Field(min_length=3, max_length=12)
    color: Color
    kind: Literal["a", "b"]
    parts: list[Part] = pydantic.Field(min_length=1, max_length=3)
    tags: list[str]
    price: float | None
    ok: bool
    nested: dict[str, int] | None = None


def test_schema_generation_is_valid_for_pydantic_schemas() -> None:
    value = generate(Order.model_json_schema())
    Order.model_validate(value)
    assert 1 <= len(value["parts"]) <= 3


@pytest.mark.parametrize(
    "schema",
    [
        {
            "type": "object",
            "properties": {"x": {"type": ["integer", "null"], "minimum": 3}},
            "required": ["x"],
        },
        {"type": "array", "items": {"type": "string", "format": "date"}, "minItems": 2},
        {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"k": {"const": 1}}}]},
        {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}], "required": ["a"]},
    ],
)
def test_schema_generation_edge_cases(schema: dict[str, Any]) -> None:
    value = generate(schema)
    assert value is not None
    if "allOf" in schema:
        assert isinstance(value["a"], str)
    if schema.get("type") == "array":
        assert len(value) >= 2 and value[0] == "2025-01-01"
    if schema.get("type") == "object" and "x" in schema["properties"]:
        assert value["x"] >= 3


def test_response_format_json() -> None:
    emu = Emulator()
    out = _it(
        create(
            emu,
            input="Give me an order for a red bike",
            response_format={
                "type": "text",
                "mime_type": "application/json",
                "schema": Order.model_json_schema(),
            },
        )
    )
    order = Order.model_validate_json(out.output_text)
    assert order.color is Color.red
    plain = _it(create(emu, input="x", response_mime_type="application/json"))
    assert "answer" in json.loads(plain.output_text)


def test_images_and_thought_summaries() -> None:
    emu = Emulator()
    image = _it(create(emu, input="Draw a cat", response_format={"type": "image"}))
    assert image.output_image is not None and image.output_image.mime_type == "image/png"
    thought = _it(create(emu, input="Think", generation_config={"thinking_summaries": "auto"}))
    assert thought.steps is not None and thought.steps[0].summary


def test_memory_from_history() -> None:
    emu = Emulator()
    first = create(emu, input="My name is Ada and I have 3 cats and 1 parrot.")
    out = _it(
        create(emu, input="How many legs are in my house?", previous_interaction_id=first["id"])
    )
    assert "14" in out.output_text
    out = _it(create(emu, input="What is my name?", previous_interaction_id=first["id"]))
    assert "Ada" in out.output_text


def test_speech_models_and_audio_output_answer_with_audio() -> None:
    import base64

    client = Emulator().client()
    speech = client.interactions.create(model="gemini-3.1-flash-tts-preview", input="Say hi")
    audio = speech.output_audio
    assert audio is not None and audio.mime_type == "audio/wav"
    assert base64.b64decode(audio.data or "")[:4] == b"RIFF"
    raw = client.interactions.create(
        model="gemini-3.5-flash",
        input="Say hi",
        response_format={"type": "audio", "mime_type": "audio/l16"},
    )
    assert raw.output_audio is not None and raw.output_audio.mime_type == "audio/l16"
