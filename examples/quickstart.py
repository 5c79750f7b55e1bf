"""Quickstart: one request, one answer (seed guide: "make your first call")."""

import _backend

client = _backend.client()  # agentloop.Client() reads GEMINI_API_KEY

interaction = client.interactions.create(
    model="gemini-3.5-flash",
    input="Explain how AI works in a few words",
)
print(interaction.output_text)
print(
    f"(interaction {interaction.id}: {interaction.status}, {interaction.usage.total_tokens} tokens)"
)
