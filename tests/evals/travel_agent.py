"""A travel agent on a deterministic emulator model, for the eval tests (and the CLI tests,
which load it with ``--agent travel_agent.py:travel``).

The model reads the user's message: "trip to CITY" plans get_weather then book_hotel
("backwards" swaps them), "weather in CITY" checks the weather, "loop" checks it three times
in a row, "broken" books a hotel the tool refuses; anything else is answered in text.
"""

from __future__ import annotations

import re
from typing import Any

from agentloop import Agent, tool
from agentloop.testing import Emulator, FunctionModel, ModelRequest


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 17, "conditions": "light rain"}


@tool
def book_hotel(city: str, nights: int = 1) -> str:
    """Book a hotel.

    Args:
        city: Where.
        nights: How many nights.
    """
    if city == "Atlantis":
        raise ValueError("no hotels in Atlantis")
    return f"booked {nights} night(s) in {city}"


def _plan(text: str) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    city = (re.findall(r"\b(?:to|in)\s+([A-Z][a-z]+)", text) or ["Paris"])[0]
    if "broken" in text:
        return "Atlantis", [("book_hotel", {"city": "Atlantis"})]
    if "trip" in text:
        plan = [("get_weather", {"city": city}), ("book_hotel", {"city": city, "nights": 2})]
        return city, plan[::-1] if "backwards" in text else plan
    if "loop" in text:
        return city, [("get_weather", {"city": city})] * 3
    if "weather" in text:
        return city, [("get_weather", {"city": city})]
    return city, []


def travel_model(request: ModelRequest) -> Any:
    history = request.history
    start = max(i for i, s in enumerate(history) if s.type == "user_input")
    done = sum(1 for s in history[start:] if s.type == "function_call")
    city, plan = _plan(request.last_user_text)
    if done < len(plan):
        name, args = plan[done]
        return [{"type": "function_call", "name": name, "arguments": args}]
    if not plan:
        return f"Hello! Ask me about a trip. ({request.last_user_text})"
    return f"All set for {city}: 17 degrees and light rain."


def emulator() -> Emulator:
    return Emulator(FunctionModel(travel_model))


travel = Agent("travel", instructions="Plan trips.", tools=[get_weather, book_hotel])


def make_conversation(client: Any) -> Any:
    """A conversation factory: the CLI passes the eval's client."""
    return travel.aconversation(client)


_OFFLINE = emulator()


def travel_offline() -> Any:
    """A conversation factory on this module's own emulator (what the CLI tests evaluate)."""
    return travel.aconversation(_OFFLINE.async_client())
