"""Structured output: JSON that matches a pydantic schema (seed: "Use structured output")."""

import _backend
from pydantic import BaseModel, Field


class Recipe(BaseModel):
    recipe_name: str = Field(description="Name of the recipe.")
    ingredients: list[str] = Field(description="List of ingredients.")
    prep_time_minutes: int | None = Field(description="Prep time in minutes.")


client = _backend.client()

interaction = client.interactions.create(
    model="gemini-3.5-flash",
    input="Give me a recipe for banana bread",
    response_format={
        "type": "text",
        "mime_type": "application/json",
        "schema": Recipe.model_json_schema(),
    },
)
recipe = Recipe.model_validate_json(interaction.output_text)
print(recipe)
