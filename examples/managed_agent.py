"""A managed agent in a remote sandbox: pass agent= and environment="remote"."""

import _backend

client = _backend.client()

interaction = client.interactions.create(
    agent="antigravity-preview-05-2026",
    input="Write a Python script that generates the first 20 Fibonacci numbers and saves them "
    "to fibonacci.txt. Then read the file and print its contents.",
    environment="remote",
)
print(f"Environment: {interaction.environment_id}")
print("Steps:", [step.type for step in interaction.steps])
print(interaction.output_text)
