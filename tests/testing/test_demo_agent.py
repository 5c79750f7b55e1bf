"""The demo model behaves like a small agent, rule by rule (agentloop/testing/_planner.py).

Each rule is shown with the weather, calculator and search-style tools of the examples, through
a real Conversation on the emulator: the tools run, their results feed the next request.
"""

from __future__ import annotations

from typing import Literal

import pytest

from agentloop import Conversation, tool
from agentloop.testing import Emulator


@tool
def get_weather(
    city: str, unit: Literal["celsius", "fahrenheit"] = "celsius", days: int = 1
) -> dict[str, object]:
    """Get the current weather for a city.

    Args:
        city: The city name.
        unit: The temperature unit.
        days: How many days to forecast.
    """
    return {"city": city, "temperature": 14 if city == "London" else 20, "unit": unit}


@tool
def get_location() -> dict[str, str]:
    """Return the user's current city."""
    return {"city": "Lisbon"}


@tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


@tool
def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


@tool
def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression with a calculator."""
    return "42"


@tool
def search(query: str) -> list[dict[str, str]]:
    """Search the web; returns results with a title and a url."""
    return [{"title": f"About {query}", "url": "https://example.com/first"}]


@tool
def fetch_page(url: str) -> str:
    """Fetch the text of a web page."""
    return f"the text of {url}"


@tool
def book_meeting(person: str, date: str, topic: str) -> str:
    """Book a meeting with a person on a date.

    Args:
        person: Who to meet.
        date: The day, as YYYY-MM-DD.
        topic: What the meeting is about.
    """
    return f"booked {person} on {date}"


ALL = [get_weather, get_location, add, multiply, search, fetch_page, book_meeting]


def _ask(text: str, tools: list[object] = ALL, conv: Conversation | None = None):  # type: ignore[no-untyped-def]
    conv = conv or Conversation(Emulator().client(), tools=tools)
    turn = conv.send(text)
    return turn, [(c.name, c.arguments) for c in turn.tool_calls]


# Rule 1: tool choice by meaning, not word overlap.


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("Is it going to rain in Paris?", "get_weather"),  # a concept, not the tool's words
        ("How hot is it in Madrid?", "get_weather"),
        ("What is 17 plus 25?", "add"),
        ("Look up the history of Lisbon", "search"),
    ],
)
def test_picks_the_tool_whose_meaning_matches(text: str, tool: str) -> None:
    _, calls = _ask(text)
    assert calls and calls[0][0] == tool


@pytest.mark.parametrize("text", ["line two", "tell me a joke", "two more lines please"])
def test_calls_nothing_when_no_tool_fits(text: str) -> None:
    turn, calls = _ask(text)
    assert calls == [] and "emulator" in turn.output_text


# Rule 2: typed arguments.


def test_extracts_names_enums_and_numbers_bound_to_their_parameter() -> None:
    _, calls = _ask("What's the weather in San Francisco for 3 days, in fahrenheit?")
    assert calls == [("get_weather", {"city": "San Francisco", "unit": "fahrenheit", "days": 3})]


def test_optional_parameters_are_left_out_unless_named() -> None:
    _, calls = _ask("Weather in Oslo?")
    assert calls == [("get_weather", {"city": "Oslo"})]


def test_extracts_quoted_strings_and_dates() -> None:
    _, calls = _ask('Book a meeting with Ada Lovelace on March 14, 2025 about "the engine"')
    assert calls == [
        ("book_meeting", {"person": "Ada Lovelace", "date": "2025-03-14", "topic": "the engine"})
    ]
    _, calls = _ask('Book a meeting with Grace on 2025-06-01 about "compilers"')
    assert calls[0][1]["date"] == "2025-06-01"


def test_a_search_query_is_the_quoted_text_or_the_topic() -> None:
    _, calls = _ask('Search for "agentloop durable workers"', [search])
    assert calls == [("search", {"query": "agentloop durable workers"})]
    _, calls = _ask("Search the web for the tallest tower in Europe", [search])
    assert calls == [("search", {"query": "tallest tower in Europe"})]


def test_parallel_calls_for_several_names() -> None:
    turn, calls = _ask("Weather in London and Berlin?")
    assert calls == [("get_weather", {"city": "London"}), ("get_weather", {"city": "Berlin"})]
    assert "London" in turn.output_text and "Berlin" in turn.output_text


# Rule 3: arithmetic with add/multiply-style tools, or a calculator.


def test_arithmetic_with_precedence_chains_results() -> None:
    turn, calls = _ask("What is 17 plus 25 times 2?")
    assert calls == [("multiply", {"a": 25, "b": 2}), ("add", {"a": 17, "b": 50.0})]
    assert turn.output_text.endswith("So 17 + 25 * 2 = 67.")


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("What is 17 plus 25?", "= 42."),
        ("what's seven times six", "= 42."),
        ("What is the sum of 3, 4 and 5?", "= 12."),
        ("Add 2.5 and 4", "= 6.5."),
    ],
)
def test_arithmetic_in_words(text: str, answer: str) -> None:
    turn, calls = _ask(text, [add, multiply])
    assert calls and turn.output_text.endswith(answer)


def test_a_calculator_tool_gets_the_expression() -> None:
    turn, calls = _ask("What is 17 plus 25?", [calculate])
    assert calls == [("calculate", {"expression": "17 + 25"})]
    assert turn.output_text.endswith("= 42.")


# Rule 4: chaining, one result feeding another tool's parameter.


def test_a_missing_argument_is_fed_by_the_tool_that_produces_it() -> None:
    turn, calls = _ask("What's the weather where I am?")
    assert calls == [("get_location", {}), ("get_weather", {"city": "Lisbon"})]
    assert '"city": "Lisbon", "temperature": 20' in turn.output_text


def test_search_then_open_the_first_result() -> None:
    turn, calls = _ask('Search for "agentloop" and open the top result', [search, fetch_page])
    assert calls == [
        ("search", {"query": "agentloop"}),
        ("fetch_page", {"url": "https://example.com/first"}),
    ]
    assert "the text of https://example.com/first" in turn.output_text


# Rule 5: asking for a missing argument instead of inventing it.


def test_asks_for_a_missing_argument_then_uses_the_answer() -> None:
    conv = Conversation(Emulator().client(), tools=[get_weather])
    turn, calls = _ask("What's the weather like?", conv=conv)
    assert calls == []
    assert "To use get_weather, I need the city (The city name)" in turn.output_text
    assert "which city should I use?" in turn.output_text
    turn, calls = _ask("Oslo, please", conv=conv)
    assert calls == [("get_weather", {"city": "Oslo"})]


def test_asks_for_a_missing_number() -> None:
    turn, calls = _ask("Please multiply by something", [multiply])
    assert calls == [] and "I need the a" in turn.output_text


# Rule 6: answers from results; deterministic.


def test_answers_from_results_and_is_deterministic() -> None:
    first, _ = _ask("How hot is it in London?")
    second, _ = _ask("How hot is it in London?")
    assert first.output_text == second.output_text
    assert '"temperature": 14' in first.output_text


def test_a_failed_call_ends_the_chain_with_its_error() -> None:
    @tool
    def get_location() -> dict[str, str]:
        """Return the user's current city."""
        raise RuntimeError("no GPS")

    turn, calls = _ask("What's the weather where I am?", [get_location, get_weather])
    assert calls == [("get_location", {})]
    assert "get_location failed with" in turn.output_text and "no GPS" in turn.output_text
