"""Stateful multi-turn: the server keeps the history (previous_interaction_id)."""

import _backend

client = _backend.client()

interaction1 = client.interactions.create(
    model="gemini-3.5-flash",
    input="I have 2 dogs in my house.",
)
print("Response 1:", interaction1.output_text)

interaction2 = client.interactions.create(
    model="gemini-3.5-flash",
    input="How many paws are in my house?",
    previous_interaction_id=interaction1.id,
)
print("Response 2:", interaction2.output_text)

# Streaming works the same way: chain with previous_interaction_id and stream=True.
stream = client.interactions.create(
    model="gemini-3.5-flash",
    input="And how many dogs?",
    previous_interaction_id=interaction2.id,
    stream=True,
)
print("Response 3: ", end="")
for event in stream:
    if event.event_type == "step.delta" and event.delta.type == "text":
        print(event.delta.text, end="")
print()
