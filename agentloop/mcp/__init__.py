"""MCP in both directions (extra ``agentloop[mcp]``).

* ``MCPToolset``: the tools of any Model Context Protocol server, local (stdio subprocess),
  remote (streamable HTTP) or a server object in this process (``MCPToolset.memory``, connected
  in memory), usable anywhere tools are:

  ```python
  from agentloop import Conversation
  from agentloop.mcp import MCPToolset

  files = MCPToolset.stdio("npx", ["-y", "@modelcontextprotocol/server-filesystem", "."])
  with Conversation(tools=[files, my_function]) as conv:
      conv.send("Which files are here?")
  ```

* ``serve(tools)`` / ``agentloop mcp serve --tools tools.py``: agentloop ``@tool`` functions
  served as an MCP server over stdio, for any MCP client.

The ``mcp`` package is imported only when a server is started or served.
"""

from __future__ import annotations

from ._schema import adapt_schema
from ._serve import mcp_server, serve, serve_async
from ._toolset import ApprovalRule, MCPTool, MCPToolset, Transport

__all__ = [
    "ApprovalRule",
    "MCPTool",
    "MCPToolset",
    "Transport",
    "adapt_schema",
    "mcp_server",
    "serve",
    "serve_async",
]
