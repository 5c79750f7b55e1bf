"""Multimodal input: send a local image inline with a question (seed: "Multimodal")."""

import base64
from pathlib import Path

import _backend

client = _backend.client()

image_path = Path(__file__).parent / "data" / "sample.png"
image_b64 = base64.b64encode(image_path.read_bytes()).decode("utf-8")

interaction = client.interactions.create(
    model="gemini-3.5-flash",
    input=[
        {"type": "text", "text": "Describe this image in one sentence."},
        {"type": "image", "data": image_b64, "mime_type": "image/png"},
    ],
)
print(f"Sent {image_path.name} ({image_path.stat().st_size} bytes).")
print(interaction.output_text)
