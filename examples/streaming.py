"""Streaming: print text as it is generated (seed guide: "Stream the response")."""

import _backend

client = _backend.client()

stream = client.interactions.create(
    model="gemini-3.5-flash",
    input="Explain how AI works",
    stream=True,
)
chunks = 0
for event in stream:
    if event.event_type == "step.delta" and event.delta.type == "text":
        print(event.delta.text, end="", flush=True)
        chunks += 1
print(f"\n({chunks} text chunks; the assembled interaction is {stream.interaction.status})")
