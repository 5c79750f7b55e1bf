"""Image generation: save the model's image to generated_image.png (seed: "Multimodal
generation")."""

import base64
from pathlib import Path

import _backend

client = _backend.client()

interaction = client.interactions.create(
    model="gemini-3.1-flash-image",
    input="Generate an image of a futuristic city skyline at sunset",
)

image = interaction.output_image
out = Path("generated_image.png")
out.write_bytes(base64.b64decode(image.data))
print(f"Saved {image.mime_type} image to {out.resolve()} ({out.stat().st_size} bytes)")
