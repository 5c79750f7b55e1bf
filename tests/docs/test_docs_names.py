"""The docs name only event types and parameters that exist.

Code blocks are checked by running them (test_docs.py); this test checks the prose: every
`` `name` event`` is a loop event type (or a wire stream event), and every keyword in an
inline call such as `` `Conversation(store=..., id=...)` `` is a parameter of that callable.
A renamed event or parameter fails here with the page that still uses the old name.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import agentloop
from agentloop.client import Client
from agentloop.client._core import CreateParams
from agentloop.loop import Conversation
from agentloop.loop.events import LoopEvent
from agentloop.types.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
EVENT_MENTION = re.compile(r"`([a-z_]+)`\s+(?:loop\s+)?events?\b")
INLINE_CALL = re.compile(r"`([A-Za-z_][\w.]*)\(([^`]*?)\)`")
KEYWORD = re.compile(r"(?:^|[(,]\s*)(\w+)=")


def _prose(page: Path) -> str:
    """The page without its fenced code blocks (those run in test_docs.py)."""
    return re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)


def _loop_event_types() -> set[str]:
    found: set[str] = set()
    todo: list[type] = [LoopEvent]
    while todo:
        cls = todo.pop()
        private = cls.__name__.startswith("_") or any(
            part.startswith("_") for part in cls.__module__.split(".")
        )
        if not private:  # driver-internal events never reach the user
            found.add(cls.type)
        todo.extend(cls.__subclasses__())
    return found - {"loop_event"}


def _callables() -> dict[str, Callable[..., Any]]:
    """Names the docs write inline, and what they are."""
    from agentloop import testing

    table: dict[str, Any] = {}
    for name in agentloop.__all__:
        table[name] = getattr(agentloop, name)
    for name in ("Emulator", "count_tokens", "ScriptedModel", "FunctionModel"):
        table[name] = getattr(testing, name)
        table[f"agentloop.testing.{name}"] = getattr(testing, name)
    table["send"] = Conversation.send
    table["conv.send"] = Conversation.send
    for method in ("load", "from_dict", "from_store"):
        table[f"Conversation.{method}"] = getattr(Conversation, method)
    table["instrument"] = agentloop.instrument
    return table


def _parameters(target: Any) -> set[str] | None:
    """Keyword names ``target`` accepts, or None when it takes any (``**kwargs``)."""
    function = target.__init__ if inspect.isclass(target) else target
    params = inspect.signature(function).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params}


def test_documented_event_types_exist() -> None:
    known = _loop_event_types() | set(EVENT_TYPES)
    assert {"thought_delta", "retrying", "turn_completed"} <= known
    wrong = [
        f"{page.name}: `{m.group(1)}` events"
        for page in PAGES
        for m in EVENT_MENTION.finditer(_prose(page))
        if m.group(1) not in known
    ]
    assert not wrong, f"events named in the docs that do not exist: {wrong}"


def test_the_streaming_page_lists_every_loop_event_type() -> None:
    text = (ROOT / "docs" / "streaming.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z_]+)` \| `\w+` \|", text, re.M))
    assert listed == _loop_event_types()


def test_documented_parameters_exist() -> None:
    table = _callables()
    create_fields = set(typing.get_type_hints(CreateParams)) | {"stream", "extra_body", "timeout"}
    checked = 0
    wrong = []
    for page in PAGES:
        for m in INLINE_CALL.finditer(_prose(page)):
            name, inside = m.group(1), m.group(2)
            keywords = KEYWORD.findall(inside)
            if not keywords:
                continue
            if name.endswith("interactions.create"):
                accepted: set[str] | None = create_fields
            elif name in table:
                accepted = _parameters(table[name])
            else:
                continue  # another library's call (genai.Client) or an instance's method
            checked += 1
            if accepted is None:
                continue
            wrong += [f"{page.name}: {name}({k}=...)" for k in keywords if k not in accepted]
    assert checked >= 15  # the check looks at the docs' calls, not at nothing
    assert not wrong, f"parameters named in the docs that do not exist: {wrong}"


@pytest.mark.parametrize("name", ["thought", "retry"])
def test_the_old_event_names_are_gone(name: str) -> None:
    assert name not in _loop_event_types()
    for page in PAGES:
        assert f"`{name}` event" not in _prose(page), page.name
        assert f"`{name}` loop event" not in _prose(page), page.name


def test_a_client_keyword_the_docs_use_is_checked() -> None:
    assert "stream_idle_timeout" in (_parameters(Client) or set())
