"""``agentloop mcp serve --tools tools.py``: serve ``@tool`` functions to MCP clients (stdio).

stdout carries the protocol, so everything else (errors, warnings) goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from ._common import UsageError
from ._tools import load_tools, tools_option

__all__ = ["run_mcp"]


def run_mcp(args: argparse.Namespace) -> int:
    if args.mcp_command != "serve":
        raise UsageError("say what to do: agentloop mcp serve --tools tools.py")
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise UsageError("agentloop mcp needs the MCP SDK: pip install 'agentloop[mcp]'") from None
    from agentloop.mcp import serve

    with contextlib.redirect_stdout(sys.stderr):  # stdout is the protocol's, even at import
        tools = load_tools(args.tools, tools_option(args))
    serve(tools, name=args.name, allow_approval_tools=args.allow_approval_tools)
    return 0
