"""ToolRegistry: lookup, duplicates, declarations."""

from __future__ import annotations

import pytest

from agentloop.tools import Tool, ToolDefinitionError, ToolRegistry, tool


def alpha(x: int) -> int:
    """Alpha."""
    return x


@tool
def beta(y: str) -> str:
    """Beta."""
    return y


class Box:
    @tool
    def open(self, force: bool = False) -> str:
        return "open"


def test_lookup_and_container_protocol() -> None:
    registry = ToolRegistry([alpha, beta])
    assert len(registry) == 2 and registry.names == ["alpha", "beta"]
    wrapped = registry.get("alpha")
    assert isinstance(wrapped, Tool) and wrapped(3) == 3
    assert registry.get("nope") is None
    assert "beta" in registry and beta in registry and "nope" not in registry
    assert [t.name for t in registry] == ["alpha", "beta"]


def test_declarations_are_cached_and_refreshed_on_add() -> None:
    registry = ToolRegistry([alpha])
    first = registry.declarations()
    assert registry.declarations() is first
    assert first == [alpha_decl()]
    registry.add(beta)
    assert [d["name"] for d in registry.declarations()] == ["alpha", "beta"]


def alpha_decl() -> dict[str, object]:
    return {
        "type": "function",
        "name": "alpha",
        "description": "Alpha.",
        "parameters": {
            "type": "object",
            "properties": {"x": {"type": "integer"}},
            "required": ["x"],
        },
    }


def test_duplicate_names_are_rejected() -> None:
    def other() -> None: ...

    registry = ToolRegistry([beta])
    registry.add(beta)  # the same tool twice is harmless
    with pytest.raises(ToolDefinitionError, match=r"Duplicate tool name 'beta'.*@tool\(name="):
        registry.add(tool(name="beta")(other))


def test_registries_combine() -> None:
    inner = ToolRegistry([alpha])
    outer = ToolRegistry([inner, beta])
    assert outer.names == ["alpha", "beta"]


def test_methods_must_come_from_an_instance() -> None:
    with pytest.raises(ToolDefinitionError, match="register it from an instance"):
        ToolRegistry([Box.open])
    registry = ToolRegistry([Box().open])
    assert registry.names == ["open"]
    assert registry.declarations()[0]["parameters"] == {
        "type": "object",
        "properties": {"force": {"type": "boolean", "default": False}},
    }


def test_max_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_workers"):
        ToolRegistry(max_workers=0)


@tool
def _weather(city: str) -> str:
    """The weather.

    Args:
        city: Where.
    """
    return city


@pytest.mark.parametrize(
    ("tools", "says"),
    [
        (_weather, "tools takes a list: tools=[_weather], not the tool itself"),
        ("tools.py", "not str 'tools.py'; a file of tools is loaded with agentloop's --tools"),
        ([None], "takes @tool functions, plain functions and toolsets, not NoneType"),
        ([3], "not int 3"),
    ],
)
def test_tools_that_are_not_a_list_of_tools_get_what_to_pass(tools: object, says: str) -> None:
    from agentloop import Conversation
    from agentloop.testing import Emulator

    for make in (ToolRegistry, lambda t: Conversation(Emulator().client(), tools=t)):
        with pytest.raises(ToolDefinitionError) as caught:
            make(tools)
        assert says in str(caught.value)
