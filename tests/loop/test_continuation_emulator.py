"""Long-decode continuation against the emulator: hops are continued automatically."""

from __future__ import annotations

import pytest
from loop_helpers import bodies, say

from agentloop import Conversation
from agentloop.testing import Emulator, Reply, ScriptedModel


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
def test_hops_are_continued_until_done(
    emu: Emulator, scripted: ScriptedModel, strategy: str
) -> None:
    part = {"type": "model_output", "content": [{"type": "text", "text": "first half, "}]}
    scripted.add(Reply(steps=[part], status="requires_continuation"), say("second half."))
    conv = Conversation(emu.client(), strategy=strategy)
    turn = conv.send("a very long essay")
    assert turn.status == "completed"
    assert turn.output_text == "first half, second half."
    assert len(turn.interaction_ids) == 2
    first, second = bodies(emu)
    assert second["continuation_token"].startswith("ct_")
    if strategy == "stateful":
        assert second["previous_interaction_id"] == turn.interaction_ids[0]
        assert "input" not in second
    else:
        assert second["store"] is False and second["input"] == first["input"]
    # The model saw its own first half before continuing.
    assert scripted.requests[1].history[-1].content[0].text == "first half, "


def test_a_foreign_token_is_rejected(emu: Emulator, scripted: ScriptedModel) -> None:
    from agentloop.errors import InvalidRequestError

    client = emu.client()
    with pytest.raises(InvalidRequestError, match="not issued by this server"):
        client.interactions.create(
            model="gemini-3.5-flash", input="x", continuation_token="ct_forged"
        )
