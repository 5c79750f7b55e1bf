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
