"""Structured output: a ``response_model`` becomes a JSON-schema ``response_format`` and a parser.

Schemas and validators are built once per type (the tools layer's cache, one implementation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["output_parser", "response_format_for"]


def response_format_for(model: Any) -> dict[str, Any]:
    """``{"type": "text", "mime_type": "application/json", "schema": ...}`` for a type."""
    from agentloop.tools.schema import adapter_and_schema

    _, schema = adapter_and_schema(model)
    return {"type": "text", "mime_type": "application/json", "schema": schema}


def output_parser(model: Any) -> Callable[[str], Any]:
    """Parse the model's JSON text into ``model`` (a pydantic model, dataclass, TypedDict…)."""
    from agentloop.tools.schema import adapter_and_schema

    adapter, _ = adapter_and_schema(model)

    def parse(text: str) -> Any:
        return adapter.validate_json(_strip_fence(text))

    return parse


def _strip_fence(text: str) -> str:
    # Models sometimes wrap JSON in a Markdown fence; the schema still applies to the inside.
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        if stripped.rstrip().endswith("```"):
            stripped = stripped.rstrip()[:-3]
    return stripped
