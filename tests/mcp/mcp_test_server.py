"""A real MCP server for the tests, written with the ``mcp`` package's own ``MCPServer``.

``python mcp_test_server.py`` serves stdio; ``python mcp_test_server.py --http PORT`` serves
streamable HTTP on 127.0.0.1:PORT/mcp; ``build()`` makes a fresh one for an in-process
``MCPToolset.memory(build())`` (never call ``die`` there: it exits the process).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Annotated

from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

# 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class Point(BaseModel):
    x: int
    y: int = 0


class Node(BaseModel):
    label: str
    children: list[Node] = []


def build() -> MCPServer:
    """A new server with every test tool (each in-process test gets its own)."""
    server = MCPServer("test-server", log_level="CRITICAL")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def describe(
        point: Point,
        tags: list[str] | None = None,
        tree: Node | None = None,
        mode: Annotated[str, Field(pattern="^(fast|slow)$")] = "fast",
    ) -> dict[str, object]:
        """Describe a point (nested models, optional fields, a recursive type)."""
        return {"point": point.model_dump(), "tags": tags, "mode": mode}

    @server.tool()
    def refuse(reason: str) -> str:
        """Fail on purpose with a message for the model."""
        raise ToolError(f"refused: {reason}")

    @server.tool()
    def crash() -> str:
        """Raise an unexpected exception."""
        raise RuntimeError("unexpected crash")

    @server.tool(structured_output=False)
    def picture() -> list[object]:
        """Return a caption and a tiny PNG."""
        return ["a red dot", Image(data=PNG, format="png")]

    @server.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool()
    def die() -> str:
        """Exit the server process at once (simulates a crash mid-call)."""
        os._exit(3)

    @server.tool()
    def sleep(seconds: float) -> str:
        """Sleep, then answer."""
        time.sleep(seconds)
        return "awake"

    @server.tool()
    async def grow(ctx: Context) -> str:
        """Add a tool named 'extra' and tell the client the tool list changed."""

        def extra() -> str:
            """A tool added at run time."""
            return "extra!"

        server.add_tool(extra)
        await ctx.notify_tools_changed()
        return "grown"

    return server


server = build()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]), stateless_http=False)
    else:
        server.run()
