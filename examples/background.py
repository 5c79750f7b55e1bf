"""Background execution: start with background=True, then poll interactions.get()."""

import time

import _backend

client = _backend.client()

interaction = client.interactions.create(
    model="gemini-3.5-flash",
    input="Write a detailed analysis of the impact of artificial intelligence on modern "
    "healthcare.",
    background=True,
)
print(f"Started background task: {interaction.id}")
print(f"Status: {interaction.status}")

while True:
    result = client.interactions.get(interaction.id)
    print(f"Status: {result.status}")
    if result.status == "completed":
        print(f"\nResult:\n{result.output_text}")
        break
    if result.status in ("failed", "cancelled", "incomplete"):
        raise SystemExit(f"background task ended {result.status}: {result.errors}")
    time.sleep(_backend.POLL_SECONDS)
