"""Serving agentloop tools over MCP: ``agentloop mcp serve --tools tools.py`` and ``serve()``.

Each ``@tool`` becomes an MCP tool whose ``inputSchema`` is its declaration's ``parameters``;
a call runs through the same execution as in a conversation (argument validation, timeouts,
sync tools in threads), and its ``function_result`` becomes the MCP result: text, a JSON
object (as text plus ``structuredContent``) or media, with ``isError`` for failures.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterable
from typing import Any, cast

from agentloop.tools import ToolRegistry
from agentloop.tools.registry import ToolLike
from agentloop.types import FunctionCallStep

from ._results import to_mcp

__all__ = ["mcp_server", "serve", "serve_async"]

logger = logging.getLogger("agentloop.mcp")


def mcp_server(
    tools: Iterable[ToolLike],
    *,
    name: str = "agentloop",
    instructions: str | None = None,
    allow_approval_tools: bool = False,
) -> Any:
    """A low-level ``mcp.server.lowlevel.Server`` serving ``tools`` (run it on any transport).

    Tools that require approval are left out unless ``allow_approval_tools=True``: an MCP
    client calls them without agentloop's approval step, so serve them only to clients whose
    user approves calls.
    """
    from mcp import types
    from mcp.server.lowlevel import Server

    from agentloop import __version__

    registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
    served = [t for t in registry if allow_approval_tools or not t.requires_approval]
    left_out = [t.name for t in registry if t not in served]
    if left_out:
        logger.warning(
            "not serving %s: they require approval (pass allow_approval_tools=True to serve "
            "them anyway)",
            ", ".join(left_out),
        )
    by_name = {t.name: t for t in served}
    listing = types.ListToolsResult(
        tools=[
            types.Tool(name=t.name, description=t.description or None, input_schema=t.parameters)
            for t in served
        ]
    )

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return listing

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name not in by_name:
            known = ", ".join(by_name) or "none"
            text = f"Unknown tool {params.name!r}. Available tools: {known}."
            return cast("types.CallToolResult", to_mcp(text, True))
        call_id = f"mcp_{ctx.request_id}" if ctx.request_id is not None else "mcp_call"
        call = FunctionCallStep(id=call_id, name=params.name, arguments=params.arguments or {})
        try:
            (outcome,) = await registry.arun([call])
        except (SystemExit, KeyboardInterrupt) as exc:  # a tool's, not the server's: it goes on
            what = (
                "called sys.exit()" if isinstance(exc, SystemExit) else "raised KeyboardInterrupt"
            )
            logger.error("tool %s %s; the server goes on", params.name, what)
            text = f"The tool {params.name} {what} and stopped; it may have done part of its work."
            return cast("types.CallToolResult", to_mcp(text, True))
        result = to_mcp(outcome.result.result, bool(outcome.result.is_error))
        return cast("types.CallToolResult", result)

    def input_schema(tool_name: str) -> dict[str, Any] | None:
        found = by_name.get(tool_name)
        return found.parameters if found is not None else None

    return Server(
        name,
        version=__version__,
        instructions=instructions,
        get_tool_input_schema=input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_async(
    tools: Iterable[ToolLike],
    *,
    name: str = "agentloop",
    instructions: str | None = None,
    allow_approval_tools: bool = False,
) -> None:
    """``serve()`` on the running event loop."""
    from mcp.server.stdio import stdio_server

    server = mcp_server(
        tools, name=name, instructions=instructions, allow_approval_tools=allow_approval_tools
    )
    async with stdio_server() as (read_stream, write_stream):
        # The SDK moved fd 1 off the wire; Python's buffered sys.stdout would still flush a
        # tool's print() onto it at exit, so prints go to stderr while serving.
        with contextlib.redirect_stdout(sys.stderr):
            await server.run(read_stream, write_stream, server.create_initialization_options())


def serve(
    tools: Iterable[ToolLike],
    *,
    name: str = "agentloop",
    instructions: str | None = None,
    allow_approval_tools: bool = False,
) -> None:
    """Serve ``tools`` as an MCP server on stdin/stdout until the client disconnects.

    ``python my_tools.py`` with ``serve([get_weather, search], name="weather")`` at the end
    makes the module an MCP server for any client (Claude Desktop, IDEs, ``MCPToolset``).
    What tools print to stdout is sent to stderr instead, so it cannot corrupt the protocol.
    """
    import anyio

    if os.environ.get("AGENTLOOP_MCP_DEBUG"):
        logging.basicConfig(stream=sys.stderr, level=logging.DEBUG)
    anyio.run(
        lambda: serve_async(
            tools, name=name, instructions=instructions, allow_approval_tools=allow_approval_tools
        )
    )
