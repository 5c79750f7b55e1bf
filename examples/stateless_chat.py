"""Stateless multi-turn: store=False and the client resends the whole history."""

import _backend

client = _backend.client()

history = [
    {
        "type": "user_input",
        "content": [{"type": "text", "text": "I have 2 dogs in my house."}],
    }
]

interaction1 = client.interactions.create(model="gemini-3.5-flash", store=False, input=history)
print("Response 1:", interaction1.steps[-1].content[0].text)

# Model steps (thoughts with their signatures included) go back exactly as received.
for step in interaction1.steps:
    history.append(step.model_dump())

history.append(
    {
        "type": "user_input",
        "content": [{"type": "text", "text": "How many paws are in my house?"}],
    }
)

interaction2 = client.interactions.create(model="gemini-3.5-flash", store=False, input=history)
print("Response 2:", interaction2.steps[-1].content[0].text)
print(f"(the second request carried {len(history)} steps)")
