"""The tool layer: ``@tool``, declarations from signatures and docstrings, the registry, and
execution of the model's function calls.

```python
from agentloop import tool, ToolRegistry

@tool
def get_weather(city: str, days: int = 1) -> dict:
    '''Get the weather forecast.

    Args:
        city: City name, e.g. "Paris".
        days: How many days to forecast.
    '''
    return {"city": city, "days": days}

registry = ToolRegistry([get_weather])
registry.declarations()   # [{"type": "function", "name": "get_weather", ...}]
outcomes = registry.run(interaction.function_calls)   # or: await registry.arun(...)
```
"""

from .context import ToolContext, ToolContextFactory, default_context
from .errors import (
    ArgumentsInvalidError,
    ToolDefinitionError,
    ToolError,
    ToolResultError,
    ToolSchemaError,
    ToolTimeoutError,
    UnknownToolError,
)
from .execution import ToolOutcome
from .registry import ToolLike, ToolRegistry
from .results import Audio, Document, Image, Media, sniff_mime_type, to_result
from .tool import ApprovalPolicy, Tool, tool
from .toolset import Toolset

__all__ = [
    "ApprovalPolicy",
    "ArgumentsInvalidError",
    "Audio",
    "Document",
    "Image",
    "Media",
    "Tool",
    "ToolContext",
    "ToolContextFactory",
    "ToolDefinitionError",
    "ToolError",
    "ToolLike",
    "ToolOutcome",
    "ToolRegistry",
    "ToolResultError",
    "ToolSchemaError",
    "ToolTimeoutError",
    "Toolset",
    "UnknownToolError",
    "default_context",
    "sniff_mime_type",
    "to_result",
    "tool",
]
