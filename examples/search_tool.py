"""A built-in tool: Google Search grounding with citations (seed: "Use tools")."""

import _backend

client = _backend.client()

interaction = client.interactions.create(
    model="gemini-3.5-flash",
    input="Who won the euro 2024?",
    tools=[{"type": "google_search"}],
)
print(interaction.output_text)

# The search steps are part of the interaction; the answer carries url citations.
print("Steps:", [step.type for step in interaction.steps])
for step in interaction.steps:
    if step.type == "model_output":
        for block in step.content:
            if block.type == "text" and block.annotations:
                print("\nCitations:")
                for annotation in block.annotations:
                    if annotation.type == "url_citation":
                        print(f"  [{annotation.title}]({annotation.url})")
