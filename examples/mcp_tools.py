"""Tools from an MCP server next to your own functions.

``MCPToolset.stdio`` starts ``mcp_servers/weather.py`` (an MCP server written with the MCP
SDK) as a subprocess at the first turn; its tools become function declarations, the model's
calls go to the server, and closing the conversation stops it.
"""

import sys
from pathlib import Path

import _backend

from agentloop import Conversation, tool
from agentloop.mcp import MCPToolset

SERVER = Path(__file__).parent / "mcp_servers" / "weather.py"


@tool
def packing_list(sky: str) -> list[str]:
    """What to pack for the given sky (sunny, rain, cloudy...)."""
    return ["umbrella", "coat"] if sky == "rain" else ["sunglasses", "hat"]


weather = MCPToolset.stdio(sys.executable, [str(SERVER)], prefix="weather_")

with Conversation(_backend.client(), tools=[weather, packing_list]) as conv:
    print("Tools:", ", ".join(conv.tools.names))
    turn = conv.send("What is the weather forecast for Paris?")
    for call in turn.tool_calls:
        print(f"  Called {call.name}({call.arguments}) -> {call.result.result}")
    print(turn.output_text)
print("MCP server stopped:", repr(weather))
