"""A small MCP server, written with the MCP SDK's own ``MCPServer`` (not with agentloop).

Run by ``examples/mcp_tools.py`` as a subprocess speaking MCP over stdin/stdout; any MCP
client can use it (``python examples/mcp_servers/weather.py`` waits for one on stdio).
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

server = MCPServer("weather", instructions="Forecasts for a few cities.", log_level="WARNING")

_FORECASTS = {"paris": (18, "sunny"), "london": (14, "rain"), "tokyo": (22, "cloudy")}


class Forecast(BaseModel):
    city: str
    days: int
    celsius: int = Field(description="Daytime temperature")
    sky: str


@server.tool()
def get_forecast(city: str, days: int = 1) -> Forecast:
    """Get the weather forecast for a city.

    Args:
        city: The city name, e.g. Paris.
        days: How many days ahead (1-3).
    """
    if not 1 <= days <= 3:
        raise ValueError("days must be between 1 and 3")
    celsius, sky = _FORECASTS.get(city.lower(), (20, "clear"))
    return Forecast(city=city, days=days, celsius=celsius, sky=sky)


@server.tool()
def to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from Celsius to Fahrenheit."""
    return celsius * 9 / 5 + 32


if __name__ == "__main__":
    server.run()  # stdio
