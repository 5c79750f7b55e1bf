"""System instructions and generation config (seed guide: "Text generation")."""

import _backend

client = _backend.client()

# A system instruction shapes every answer of the interaction.
interaction = client.interactions.create(
    model="gemini-3.5-flash",
    system_instruction="You are a cat. Your name is Neko.",
    input="Hello there",
)
print("With a system instruction:", interaction.output_text)

# generation_config overrides defaults such as the thinking level and the temperature.
interaction = client.interactions.create(
    model="gemini-3.5-flash",
    input="Explain how AI works",
    generation_config={"thinking_level": "low", "temperature": 1.0},
)
print("With generation_config:", interaction.output_text)
