"""``conv.send(input)``: the forms it takes, and a clear ``InputError`` for the others."""

from __future__ import annotations

from typing import Any

import pytest

from agentloop import Conversation
from agentloop.errors import InputError
from agentloop.testing import Emulator
from agentloop.types.requests import input_to_steps


def test_a_list_of_strings_is_one_user_turn_of_text_blocks() -> None:
    (step,) = input_to_steps(["a", {"type": "text", "text": "b"}, "c"])
    assert step.type == "user_input" and [b.text for b in step.content] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ([1, 2], "input item 1 (int)"),
        ([{"role": "user", "content": "hi"}], "a chat message of another API"),
        ([{"content": "hi"}], "has no 'type'"),
        ({"a": 1}, "input object {'a': 1} has no 'type' and is not a content block"),
        ([{"type": "user_input", "content": 5}], "input is not valid: user_input.content"),
        ([{"type": "text", "text": "a"}, {"type": "user_input", "content": []}], "mixes steps"),
    ],
)
def test_other_forms_are_refused_with_what_to_pass(value: Any, says: str) -> None:
    with pytest.raises(InputError, match=r"pass|put the blocks") as caught:
        input_to_steps(value)
    assert says in str(caught.value)


def test_a_refused_input_changes_nothing_and_the_next_send_works() -> None:
    conv = Conversation(Emulator().client())
    conv.send("hello")
    before = list(conv.history)
    with pytest.raises(InputError):
        conv.send([{"role": "user", "content": "What is 2+2?"}])
    assert conv.history == before and not conv.running
    assert conv.send(["one", "two"]).status == "completed"


@pytest.mark.parametrize(
    ("make", "says"),
    [
        ("tool", "timeout must be a positive number of seconds or None, got '5'"),
        ("retries", "max_retries is a whole number (0: no retries), not str '3'"),
        ("key", "api_key is the API key as a str, not int"),
        ("steps", "max_steps is a whole number of model requests (at least 1), not str '3'"),
    ],
)
def test_settings_of_the_wrong_type_are_agentloop_errors(make: str, says: str) -> None:
    from agentloop import AgentloopError, Client, tool

    def nodoc(x: int) -> int:
        return x

    build = {
        "tool": lambda: tool(timeout="5")(nodoc),  # type: ignore[arg-type]
        "retries": lambda: Client(api_key="k", max_retries="3"),  # type: ignore[arg-type]
        "key": lambda: Client(api_key=123),  # type: ignore[arg-type]
        "steps": lambda: Conversation(Emulator().client(), max_steps="3"),  # type: ignore[arg-type]
    }[make]
    with pytest.raises(AgentloopError) as caught:
        build()
    assert says in str(caught.value) and "123" not in str(caught.value)


def test_sending_on_a_closed_conversation_says_the_conversation_is_closed() -> None:
    from agentloop.errors import StateError

    conv = Conversation()  # it makes (and owns) its client: the emulator, offline
    conv.send("hi")
    conv.close()
    with pytest.raises(StateError, match="this conversation is closed"):
        conv.send("hi again")
