"""Time travel: list the turns, fork at an earlier one, rewind, replay with a new input.

A stateful fork continues from the interaction that ended its fork point, so its first request
carries only the new message: the server keeps the shared prefix.
"""

import _backend

from agentloop import Conversation

conv = Conversation(_backend.client())
conv.send("I have 2 dogs in my house.")
conv.send("I have 3 cats too.")
print("Paws:", conv.send("How many paws are in my house?").output_text)

for turn in conv.turns:
    print(f"turn {turn.index}: {turn.input_text!r} (interaction {turn.interaction_id})")

# What if there were no cats? Go on from turn 0 in a fork; the original is unchanged.
what_if = conv.fork(at=0)
what_if.send("I have 1 cat.")
print("Fork:", what_if.send("How many paws are in my house?").output_text)

# Re-run turn 1 with another message (a fork too), then drop the last turn of the original.
other = conv.replay(1, input="I have 1 parrot.")
print("Replayed turn 1:", other.turns[-1].input_text)
conv.rewind()
print("Original after rewind:", [t.input_text for t in conv.turns])
