"""The static part of a request body (tools, configs) is encoded once and reused, yet every
change made between turns, in place or by assignment, reaches the next request."""

from __future__ import annotations

from typing import Any

import pytest
from loop_helpers import bodies, call, get_time, get_weather, say

from agentloop import errors
from agentloop.testing import Emulator, ScriptedModel


def test_changes_between_turns_reach_the_next_request(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(*[say(str(n)) for n in range(5)])
    config: dict[str, Any] = {"temperature": 0.2, "stop": ["x"]}
    conv = drive.conv(tools=[get_weather], generation_config=config, system_instruction="A")
    drive(conv.send("1"))
    config["temperature"] = 0.7  # in place, at the top
    config["stop"].append("y")  # in place, nested
    drive(conv.send("2"))
    conv.tools.add(get_time)
    conv.system_instruction = "B"
    drive(conv.send("3"))
    conv.generation_config = {"temperature": 0.2, "stop": ["x"]}  # equal to the first again
    drive(conv.send("4"))
    conv.generation_config = None
    drive(conv.send("5"))

    sent = bodies(emu)
    assert [b.get("generation_config") for b in sent] == [
        {"temperature": 0.2, "stop": ["x"]},
        {"temperature": 0.7, "stop": ["x", "y"]},
        {"temperature": 0.7, "stop": ["x", "y"]},
        {"temperature": 0.2, "stop": ["x"]},
        None,
    ]
    assert [[t["name"] for t in b["tools"]] for b in sent] == [
        ["get_weather"],
        ["get_weather"],
        ["get_weather", "get_time"],
        ["get_weather", "get_time"],
        ["get_weather", "get_time"],
    ]
    assert [b["system_instruction"] for b in sent] == ["A", "A", "B", "B", "B"]


def test_every_request_of_a_tool_turn_carries_the_same_static_part(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add([call("get_weather", "c1", city="Oslo")], say("cold"))
    conv = drive.conv(
        tools=[get_weather, {"type": "google_search"}], generation_config={"temperature": 0.1}
    )
    drive(conv.send("weather?"))
    first, second = bodies(emu)
    for key in ("model", "tools", "generation_config"):
        assert first[key] == second[key]
    assert [t["type"] for t in first["tools"]] == ["function", "google_search"]


def test_a_config_json_cannot_hold_is_reported_when_sending(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    conv = drive.conv(generation_config={"temperature": object()})
    with pytest.raises(errors.RequestEncodingError, match="cannot be encoded"):
        drive(conv.send("hi"))
    assert bodies(emu) == []
    scripted.add(say("ok"))
    conv.generation_config = {"temperature": 0.5}
    assert drive(conv.send("hi")).output_text == "ok"
    assert bodies(emu)[0]["generation_config"] == {"temperature": 0.5}


def test_in_place_changes_to_models_tool_dicts_and_request_settings_reach_the_next_request(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    """A turn like the last one reuses the last static body only while everything it was
    built from is unchanged: models, built-in tool dicts, labels and extra fields edited in
    place between turns are sent, and a per-turn response format is not kept."""
    from agentloop.types import GenerationConfig

    scripted.add(*[say(str(n)) for n in range(5)])
    config = GenerationConfig(max_output_tokens=10)
    search: dict[str, Any] = {"type": "google_search"}
    labels = {"team": "a"}
    conv = drive.conv(
        tools=[search], generation_config=config, labels=labels, extra_body={"cached_content": "c1"}
    )
    drive(conv.send("1"))
    config.max_output_tokens = 20  # a model, in place
    search["search_types"] = ["web_search"]  # a built-in tool dict, in place
    labels["team"] = "b"
    conv.extra_body["cached_content"] = "c2"
    drive(conv.send("2"))
    drive(conv.send("3", response_format={"type": "text"}))
    drive(conv.send("4"))
    drive(conv.send("5"))

    sent = bodies(emu)
    assert [b["generation_config"] for b in sent] == [{"max_output_tokens": 10}] + [
        {"max_output_tokens": 20}
    ] * 4
    assert [b["tools"] for b in sent] == [[{"type": "google_search"}]] + [
        [{"type": "google_search", "search_types": ["web_search"]}]
    ] * 4
    assert [b["labels"] for b in sent] == [{"team": "a"}] + [{"team": "b"}] * 4
    assert [b["cached_content"] for b in sent] == ["c1"] + ["c2"] * 4
    assert [b.get("response_format") for b in sent] == [None, None, {"type": "text"}, None, None]


class _NoCopy(dict[str, Any]):
    """A config that refuses to be copied (so its body is never reused)."""

    def __deepcopy__(self, memo: Any) -> Any:
        raise TypeError("not copyable")


def test_a_config_that_cannot_be_copied_is_read_again_every_turn(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(*[say(str(n)) for n in range(3)])
    config = _NoCopy(temperature=0.1)
    conv = drive.conv(generation_config=config)
    drive(conv.send("1"))
    config["temperature"] = 0.2
    drive(conv.send("2"))
    config["temperature"] = 0.3
    drive(conv.send("3"))
    assert [b["generation_config"] for b in bodies(emu)] == [
        {"temperature": 0.1},
        {"temperature": 0.2},
        {"temperature": 0.3},
    ]


def test_in_place_changes_after_any_number_of_turns_reach_the_next_request(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    """The private copies are taken on the second turn with the same settings (a conversation
    of one turn never pays for them), and from then on every in-place change is compared and
    sent, whichever turn it follows."""
    from agentloop.types import GenerationConfig

    scripted.add(*[say(str(n)) for n in range(6)])
    config = GenerationConfig(max_output_tokens=1)
    search: dict[str, Any] = {"type": "google_search"}
    labels = {"turn": "1"}
    conv = drive.conv(tools=[search], generation_config=config, labels=labels)
    for n in range(1, 7):
        drive(conv.send(str(n)))
        config.max_output_tokens = n + 1
        labels["turn"] = str(n + 1)
        if n == 4:
            search["search_types"] = ["web_search"]

    sent = bodies(emu)
    assert [b["generation_config"] for b in sent] == [{"max_output_tokens": n} for n in range(1, 7)]
    assert [b["labels"] for b in sent] == [{"turn": str(n)} for n in range(1, 7)]
    assert [b["tools"][0].get("search_types") for b in sent] == [None] * 4 + [["web_search"]] * 2


def test_in_place_changes_deep_inside_nested_values_reach_the_next_request(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    """The private copies are deep: a change several levels down (a dict in a list in a
    built-in tool dict) after the copies were taken is seen and sent."""
    scripted.add(*[say(str(n)) for n in range(4)])
    inner: dict[str, Any] = {"deep": "a"}
    items: list[Any] = [1, inner]
    search: dict[str, Any] = {"type": "google_search", "config": {"items": items}}
    conv = drive.conv(tools=[search])
    drive(conv.send("1"))
    drive(conv.send("2"))  # the copies are taken here
    inner["deep"] = "b"
    drive(conv.send("3"))
    items.append("c")
    drive(conv.send("4"))

    assert [b["tools"][0]["config"]["items"] for b in bodies(emu)] == [
        [1, {"deep": "a"}],
        [1, {"deep": "a"}],
        [1, {"deep": "b"}],
        [1, {"deep": "b"}, "c"],
    ]


def test_a_raw_json_config_that_is_not_json_is_sent_as_given_every_turn(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    """A ``RawJSON`` the caller put in a config is spliced verbatim; when its bytes are not
    JSON the API refuses each request, and every turn fails with that API error (the cache's
    private copy, decoded from the encoded body, is simply not kept)."""
    from agentloop.types import RawJSON

    conv = drive.conv(generation_config={"temperature": RawJSON(b"{not json")})
    for text in ("1", "2", "3"):
        with pytest.raises(errors.APIError):
            drive(conv.send(text))
