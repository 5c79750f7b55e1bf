"""adapt_schema: any JSON Schema an MCP server publishes becomes the declaration subset."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop import Conversation
from agentloop.mcp import adapt_schema
from agentloop.mcp._schema import KEYWORDS
from agentloop.testing import Emulator, ScriptedModel


def keywords(schema: Any) -> set[str]:
    """Every keyword used anywhere in a schema (property names excluded)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    found |= keywords(sub)
            elif key == "anyOf":
                for sub in value:
                    found |= keywords(sub)
            elif key in ("items", "additionalProperties"):
                found |= keywords(value)
    return found


def test_refs_are_inlined_and_recursion_is_cut() -> None:
    schema = {
        "type": "object",
        "$defs": {
            "Point": {"type": "object", "title": "Point", "properties": {"x": {"type": "integer"}}},
            "Tree": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}},
            },
        },
        "definitions": {"Name": {"type": "string", "minLength": 1}},
        "properties": {
            "p": {"$ref": "#/$defs/Point", "description": "Where."},
            "t": {"$ref": "#/$defs/Tree"},
            "n": {"$ref": "#/definitions/Name"},
            "self": {"$ref": "#"},
            "gone": {"$ref": "https://example.com/schema.json"},
        },
    }
    out = adapt_schema(schema)
    assert "$ref" not in json.dumps(out) and "$defs" not in out and "definitions" not in out
    props = out["properties"]
    assert props["p"] == {
        "type": "object",
        "properties": {"x": {"type": "integer"}},
        "description": "Where.",
    }
    kids = props["t"]["properties"]["kids"]["items"]
    assert kids["type"] == "object" and "nested Tree" in kids["description"]
    assert props["n"] == {"type": "string", "minLength": 1}
    assert props["self"]["properties"]["self"]["description"].startswith("A nested")
    assert "example.com" in props["gone"]["description"]


def test_unions_type_lists_and_constants() -> None:
    out = adapt_schema(
        {
            "type": "object",
            "properties": {
                "a": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "b": {"type": ["string", "null"], "maxLength": 3, "description": "B."},
                "c": {"const": "x"},
                "d": {
                    "allOf": [
                        {"properties": {"x": {"type": "integer"}}, "required": ["x"]},
                        {"properties": {"y": {"type": "string"}}, "required": ["y"]},
                    ],
                    "type": "object",
                },
                "e": {"type": "integer", "nullable": True},
                "f": {"anyOf": [{"type": "string"}]},
            },
            "required": ["a", "a", "missing"],
        }
    )
    props = out["properties"]
    assert props["a"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert props["b"] == {
        "description": "B.",
        "anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}],
    }
    assert props["c"] == {"enum": ["x"]}
    assert props["d"]["properties"] == {"x": {"type": "integer"}, "y": {"type": "string"}}
    assert props["d"]["required"] == ["x", "y"]
    assert props["e"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert props["f"] == {"type": "string"}
    assert out["required"] == ["a"]  # deduplicated; only declared properties


def test_constraints_outside_the_subset_become_words() -> None:
    out = adapt_schema(
        {
            "type": "object",
            "title": "Args",
            "additionalProperties": False,
            "properties": {
                "n": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.5},
                "old": {"type": "integer", "minimum": 1, "exclusiveMinimum": True},
                "mail": {"type": "string", "format": "email", "examples": ["a@b.c"]},
                "when": {"type": "string", "format": "date-time"},
                "odd": {"not": {"type": "null"}, "if": {}, "then": {}, "patternProperties": {}},
                "never": False,
                "anything": True,
            },
        }
    )
    props = out["properties"]
    assert props["n"] == {
        "type": "number",
        "description": "Must be > 0. Must be a multiple of 0.5.",
    }
    assert props["old"] == {"type": "integer", "description": "Must be > 1."}
    assert props["mail"] == {"type": "string", "description": "Format: email."}
    assert props["when"] == {"type": "string", "format": "date-time"}
    assert props["odd"] == {} and props["anything"] == {}
    assert "never" not in props and "title" not in out
    assert out["additionalProperties"] is False


def test_the_root_is_always_an_object() -> None:
    assert adapt_schema({}) == {"type": "object", "properties": {}}
    assert adapt_schema(None) == {"type": "object", "properties": {}}
    assert adapt_schema({"type": "string"}) == {"type": "object", "properties": {}}


scalars = st.none() | st.booleans() | st.integers() | st.sampled_from(["", "x", "string", "#"])
keys = st.sampled_from(
    [
        "type",
        "properties",
        "items",
        "anyOf",
        "oneOf",
        "allOf",
        "$ref",
        "$defs",
        "required",
        "enum",
        "const",
        "format",
        "nullable",
        "additionalProperties",
        "prefixItems",
        "minimum",
        "exclusiveMinimum",
        "title",
        "not",
        "description",
        "default",
        "definitions",
    ]
)
odd_values = st.sampled_from(
    ["#", "#/$defs/a", "#/definitions/b", "#/properties", "string", ["string", "null"], [[]], {}]
)
schemas = st.recursive(
    st.dictionaries(keys, scalars | odd_values, max_size=3),
    lambda inner: st.dictionaries(
        keys,
        inner
        | st.lists(inner, max_size=2)
        | st.dictionaries(st.sampled_from("abc"), inner, max_size=2),
        max_size=3,
    ),
    max_leaves=10,
)


@settings(max_examples=100, deadline=None)
@given(schemas)
def test_any_schema_adapts_without_errors_into_the_subset(schema: dict[str, Any]) -> None:
    out = adapt_schema(schema)
    assert out["type"] == "object" and isinstance(out["properties"], dict)
    assert keywords(out) <= KEYWORDS
    json.dumps(out)  # plain JSON


def test_a_gnarly_schema_is_accepted_by_the_api_emulator() -> None:
    from agentloop.mcp import MCPTool, MCPToolset

    gnarly = {
        "type": "object",
        "$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}},
        "properties": {
            "node": {"$ref": "#/$defs/N"},
            "kind": {"type": ["string", "integer", "null"], "format": "hostname"},
        },
        "patternProperties": {"^x-": {"type": "string"}},
    }
    toolset = MCPToolset.stdio("unused")
    mcp_tool = MCPTool(
        toolset,
        "gnarly",
        "gnarly",
        "",
        adapt_schema(gnarly),
        timeout=None,
        requires_approval=False,
        idempotent=False,
    )
    emu = Emulator(model=ScriptedModel(["fine"]))
    turn = Conversation(emu.client(), tools=[mcp_tool]).send("hi")
    assert turn.output_text == "fine"
    assert emu.requests[-1].json["tools"][0]["parameters"] == adapt_schema(gnarly)
