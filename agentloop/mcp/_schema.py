"""An MCP tool's ``inputSchema`` (any JSON Schema) as a function declaration's ``parameters``.

MCP servers publish whatever JSON Schema their framework writes: ``$ref`` into ``$defs`` or
``definitions``, ``oneOf``/``allOf``, type lists (``["string", "null"]``), draft-04 booleans,
``if``/``then``, ``patternProperties``, formats... The Interactions API accepts a subset (the
keywords of ``google.genai.types.JSONSchema``, the same subset ``@tool`` declarations use, see
``agentloop.tools.schema``). ``adapt_schema`` rewrites any schema into that subset, never
raising and never sending what could earn a 400:

* local ``$ref`` (``#/$defs/X``, ``#/definitions/X``, any JSON pointer, ``#``) are inlined; a
  recursive reference is cut at its second occurrence (an open schema that says what it is),
  unresolvable ones become open schemas;
* ``oneOf`` becomes ``anyOf``; ``allOf`` is merged (properties and ``required`` united);
  ``const`` becomes a one-value ``enum``; type lists become ``anyOf`` of single types;
  ``nullable: true`` becomes an ``anyOf`` with ``null``; tuple forms become ``items``;
* constraints outside the subset (``exclusiveMinimum``, ``multipleOf``, unusual ``format``s)
  move into the description as words, so the model still learns them; every other unknown
  keyword (``title``, ``examples``, ``not``, ``if``, ``patternProperties``...) is dropped;
* ``required`` keeps only declared properties; the root is always ``type: object``.

The server validates the arguments itself; its error comes back to the model as an
``is_error`` result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentloop.tools.schema import SCHEMA_KEYWORDS

__all__ = ["KEYWORDS", "adapt_schema"]

# Keywords copied as they are (after their values are checked).
_SCALARS = frozenset(
    {
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
    }
)
_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
_FORMATS = frozenset({"date-time", "date", "time", "int32", "int64", "float", "double", "enum"})
KEYWORDS = SCHEMA_KEYWORDS  # the subset @tool declarations use too
"""Every keyword an adapted schema may contain."""

_MAX_DEPTH = 24


def adapt_schema(schema: Any) -> dict[str, Any]:
    """``schema`` rewritten into the declaration subset (see the module docstring)."""
    root = schema if isinstance(schema, Mapping) else {}
    out = _Adapter(root).node(root, (), 0)
    if out.get("type") != "object":
        out = {k: v for k, v in out.items() if k not in ("type", "anyOf", "enum", "items")}
        out["type"] = "object"
    out.setdefault("properties", {})
    return out


class _Adapter:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def resolve(self, ref: str) -> Any:
        """The node a local reference points at, or None."""
        if not ref.startswith("#"):
            return None
        node: Any = self.root
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node

    def node(self, node: Any, refs: tuple[str, ...], depth: int) -> dict[str, Any]:
        if node is True or node is None:
            return {}
        if node is False or not isinstance(node, Mapping):
            return {"description": "No value is valid here; leave it out."}
        if depth > _MAX_DEPTH:
            return {"description": "A nested value (too deeply nested to describe)."}
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self.reference(node, ref, refs, depth)
        out: dict[str, Any] = {}
        hints: list[str] = []
        variants: list[dict[str, Any]] = []
        for key, value in node.items():
            if key == "properties" and isinstance(value, Mapping):
                out[key] = {
                    str(name): self.node(sub, refs, depth + 1)
                    for name, sub in value.items()
                    if sub is not False
                }
            elif key == "items":
                if isinstance(value, list):  # draft-04 tuple form
                    out[key] = self.one_of([self.node(v, refs, depth + 1) for v in value])
                elif value is not False:
                    out[key] = self.node(value, refs, depth + 1)
            elif key == "prefixItems" and isinstance(value, list):
                tail = [out["items"]] if "items" in out else []
                out["items"] = self.one_of([self.node(v, refs, depth + 1) for v in value] + tail)
            elif key == "additionalProperties":
                if isinstance(value, bool):
                    out[key] = value
                elif isinstance(value, Mapping):
                    out[key] = self.node(value, refs, depth + 1)
            elif key in ("anyOf", "oneOf") and isinstance(value, list):
                variants.extend(self.node(v, refs, depth + 1) for v in value)
            elif key == "allOf" and isinstance(value, list):
                for sub in value:
                    _merge(out, self.node(sub, refs, depth + 1))
            elif key == "const":
                out["enum"] = [value]
            elif key == "enum" and isinstance(value, list) and value:
                out["enum"] = list(value)
            elif key == "type":
                types = [value] if isinstance(value, str) else value
                if isinstance(types, list):
                    known = [t for t in types if isinstance(t, str) and t in _TYPES]
                    if len(known) == 1:
                        out["type"] = known[0]
                    elif known:
                        out["type"] = known
            elif key == "nullable" and value is True:
                out["nullable"] = True
            elif key == "description" and isinstance(value, str):
                out[key] = value
            elif key == "format" and isinstance(value, str):
                if value in _FORMATS:
                    out[key] = value
                else:
                    hints.append(f"Format: {value}.")
            elif (key == "pattern" and isinstance(value, str)) or (
                key == "uniqueItems" and isinstance(value, bool)
            ):
                out[key] = value
            elif key == "required" and isinstance(value, list):
                out[key] = [v for v in value if isinstance(v, str)]
            elif key == "default" or (key in _SCALARS and _is_number(value)):
                out[key] = value
            elif key in ("exclusiveMinimum", "exclusiveMaximum"):
                hints.append(_exclusive(key, value, node))
            elif key == "multipleOf" and _is_number(value):
                hints.append(f"Must be a multiple of {json.dumps(value)}.")
            # everything else (title, examples, $defs, not, if, patternProperties...) is dropped
        if isinstance(node.get("exclusiveMinimum"), bool) and node["exclusiveMinimum"]:
            out.pop("minimum", None)  # draft-04: the bound moved into the description
        if isinstance(node.get("exclusiveMaximum"), bool) and node["exclusiveMaximum"]:
            out.pop("maximum", None)
        out = self.finish(out, variants)
        hints = [h for h in hints if h]
        if hints:
            out["description"] = " ".join([out.get("description", ""), *hints]).strip()
        return out

    def reference(
        self, node: Mapping[str, Any], ref: str, refs: tuple[str, ...], depth: int
    ) -> dict[str, Any]:
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        name = ref.rsplit("/", 1)[-1] or "the root"
        if ref in refs:  # recursive: describe instead of expanding forever
            target = self.resolve(ref)
            out: dict[str, Any] = {"description": f"A nested {name} (the same structure)."}
            if isinstance(target, Mapping) and target.get("type") in ("object", "array"):
                out["type"] = target["type"]
        else:
            target = self.resolve(ref)
            if target is None:
                out = {"description": f"A value described by {ref}."}
            else:
                out = self.node(target, (*refs, ref), depth + 1)
        if siblings:
            extra = self.node(siblings, refs, depth)
            if "description" in extra and "description" in out:
                out = {**out, **extra}
            else:
                _merge(out, extra)
        return out

    def finish(self, out: dict[str, Any], variants: list[dict[str, Any]]) -> dict[str, Any]:
        nullable = out.pop("nullable", False)
        types = out.get("type")
        if isinstance(types, list):  # ["string", "null"] -> anyOf of single types
            del out["type"]
            specific = {k: v for k, v in out.items() if k not in ("description", "default")}
            common = {k: v for k, v in out.items() if k in ("description", "default")}
            variants = [*variants, *(_for_type(t, specific) for t in types)]
            out = common
        if nullable:
            if variants:
                variants.append({"type": "null"})
            elif "type" in out:
                specific = {k: v for k, v in out.items() if k not in ("description", "default")}
                common = {k: v for k, v in out.items() if k in ("description", "default")}
                variants = [specific, {"type": "null"}]
                out = common
        if variants:
            unique = _unique(variants)
            if len(unique) == 1:
                _merge(out, unique[0])
            else:
                out["anyOf"] = unique
        if "required" in out:
            props = out.get("properties")
            names = list(dict.fromkeys(out["required"]))
            if isinstance(props, dict):
                names = [n for n in names if n in props]
            if names:
                out["required"] = names
            else:
                del out["required"]
        return out

    def one_of(self, schemas: list[dict[str, Any]]) -> dict[str, Any]:
        unique = _unique(schemas)
        if not unique:
            return {}
        return unique[0] if len(unique) == 1 else {"anyOf": unique}


def _for_type(name: str, specific: dict[str, Any]) -> dict[str, Any]:
    """The keywords of ``specific`` that apply to a value of type ``name``."""
    applies = {
        "object": {"properties", "required", "additionalProperties", "minProperties"},
        "array": {"items", "minItems", "maxItems", "uniqueItems"},
        "string": {"format", "pattern", "minLength", "maxLength", "enum"},
        "number": {"minimum", "maximum", "format", "enum"},
        "integer": {"minimum", "maximum", "format", "enum"},
        "boolean": {"enum"},
        "null": set(),
    }[name]
    applies = applies | ({"maxProperties"} if name == "object" else set())
    return {"type": name, **{k: v for k, v in specific.items() if k in applies}}


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    """``allOf``-style merge: properties and ``required`` united, other keywords kept first."""
    for key, value in other.items():
        if key == "properties" and isinstance(into.get(key), dict):
            into[key] = {**value, **into[key]}
        elif key == "required" and isinstance(into.get(key), list):
            into[key] = list(dict.fromkeys([*into[key], *value]))
        elif key == "description" and key in into and into[key] != value:
            into[key] = f"{into[key]} {value}"
        else:
            into.setdefault(key, value)


def _unique(schemas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for schema in schemas:
        seen.setdefault(json.dumps(schema, sort_keys=True, default=str), schema)
    return list(seen.values())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _exclusive(key: str, value: Any, node: Mapping[str, Any]) -> str:
    sign = ">" if key == "exclusiveMinimum" else "<"
    if isinstance(value, bool):  # draft-04: a flag on minimum/maximum
        bound = node.get("minimum" if key == "exclusiveMinimum" else "maximum")
        return f"Must be {sign} {json.dumps(bound)}." if value and _is_number(bound) else ""
    return f"Must be {sign} {json.dumps(value)}." if _is_number(value) else ""
