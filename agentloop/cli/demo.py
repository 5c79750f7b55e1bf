"""``agentloop demo``: a streamed chat turn, a tool loop, a strategy switch, structured output."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import model_of, open_backend, plural
from ._render import Printer, log_event, short

__all__ = ["run_demo"]


def get_weather(city: str) -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        city: The city name, e.g. "London".
    """
    # Canned data so the demo needs no network beyond the model itself.
    temperatures = {"london": 14, "paris": 18, "tokyo": 22}
    return {"city": city, "temperature": temperatures.get(city.lower(), 20), "unit": "celsius"}


def _ask(conv: Any, printer: Printer, text: str) -> Any:
    printer.line(f"you> {text}")
    turn = None
    for event in conv.stream(text):
        log_event(event)
        printer.event(event)
        if event.type == "turn_completed":
            turn = event.turn
    printer.end_line()
    return turn


def run_demo(args: argparse.Namespace) -> int:
    from pydantic import BaseModel, Field

    from agentloop import Conversation

    class Recipe(BaseModel):
        recipe_name: str = Field(description="Name of the recipe.")
        ingredients: list[str] = Field(description="List of ingredients.")
        prep_time_minutes: int | None = Field(default=None, description="Prep time in minutes.")

    model = model_of(args)
    backend = open_backend(args.backend)
    out = sys.stdout
    backend.announce(out)
    printer = Printer(out, text_prefix="model> ")
    turns = []
    try:
        conv = Conversation(backend.client, model=model, tools=[get_weather])

        printer.line("\n== 1. A streamed chat turn (stateful: the server keeps the history)")
        turns.append(_ask(conv, printer, "I have 2 dogs in my house."))

        printer.line("\n== 2. A tool loop: the model calls get_weather, agentloop runs it")
        turn = _ask(conv, printer, "What is the weather in London and Paris?")
        turns.append(turn)
        calls = plural(len(turn.tool_calls), "tool call")
        printer.line(f"   ({calls} in {plural(turn.model_requests, 'request')})")

        printer.line("\n== 3. Same conversation, switched to the stateless strategy")
        conv.strategy = "stateless"
        printer.line("   (now every request carries the full local history, store=false)")
        turns.append(_ask(conv, printer, "How many paws are in my house?"))

        printer.line("\n== 4. Structured output parsed into a pydantic model")
        printer.line("you> Give me a recipe for banana bread")
        turn = conv.send("Give me a recipe for banana bread", response_model=Recipe)
        turns.append(turn)
        recipe = turn.output
        printer.line(
            f"model> Recipe(recipe_name={recipe.recipe_name!r}, "
            f"{len(recipe.ingredients)} ingredients, "
            f"prep_time_minutes={recipe.prep_time_minutes!r})"
        )
        printer.line(f"   ingredients: {short(recipe.ingredients, 120)}")
    finally:
        backend.close()

    tokens = sum(t.usage.total_tokens or 0 for t in turns)
    requests = sum(t.model_requests for t in turns)
    printer.line(
        f"\nDone: {plural(len(turns), 'turn')}, {plural(requests, 'model request')}, "
        f"{plural(tokens, 'token')}, {plural(len(conv.history), 'step')} of local history."
    )
    printer.line(
        'Next: `agentloop chat`, `agentloop run "TASK" --tools tools.py`, examples/ and docs/.'
    )
    return 0
