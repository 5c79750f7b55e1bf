"""``Toolset``: a source of tools that are only known at run time (an MCP server, ...).

A toolset goes anywhere tools do (``Conversation(tools=[toolset, my_function])``,
``ToolRegistry([...])``). The registry asks it for its tools whenever it needs names or
declarations (the first time at the first turn, so a toolset may start lazily there) and
closes it with ``ToolRegistry.close()``.

```python
from agentloop import Tool, ToolRegistry
from agentloop.tools import Toolset

class Fixed:
    def __init__(self, *tools: Tool) -> None:
        self._tools = list(tools)

    def tools(self) -> list[Tool]:
        return self._tools

    def close(self) -> None:
        pass

isinstance(Fixed(), Toolset)  # True
```
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .tool import Tool

__all__ = ["Toolset"]


@runtime_checkable
class Toolset(Protocol):
    """Anything with ``tools()`` and ``close()``.

    ``tools()`` returns the current ``Tool`` objects; it is called often (each turn, each call
    lookup), so it must be cheap once started; return the same ``Tool`` objects while nothing
    changed (the registry rebuilds its declarations when the tools differ). It may raise an
    ``AgentloopError`` when the tools cannot be had (that error ends the turn). ``close()``
    releases what the toolset holds; the toolset may start again on the next ``tools()``.
    """

    def tools(self) -> Sequence[Tool[..., Any]]:
        """The current tools (cheap once started; the same objects while nothing changed)."""
        ...

    def close(self) -> None:
        """Release what the toolset holds; it may start again on the next ``tools()``."""
        ...
