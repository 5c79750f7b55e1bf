"""JSON schemas and validators for tool parameters, built from type hints with pydantic.

Each parameter gets its own ``TypeAdapter`` (validation) and a cleaned JSON schema, both cached
by annotation. Why not one synthetic ``create_model`` per tool: building a model and running
``model_json_schema`` costs about a millisecond per tool, while a tool made of already-seen
types is declared from this cache in tens of microseconds, and validation per call stays a
compiled pydantic-core validator either way.

Cleaning turns pydantic's output into the self-contained subset the Gemini API documents
(the keywords of ``google.genai.types.JSONSchema``):

* ``$ref``/``$defs`` are inlined. A recursive type cannot be inlined, so it is rejected with a
  ``ToolSchemaError`` naming the type (no bounded expansion: a truncated schema would tell the
  model that deeper levels do not exist).
* ``title`` and other pydantic noise (``discriminator``, ``examples``, ...) are dropped.
* ``const`` becomes a one-value ``enum``; ``oneOf`` becomes ``anyOf``; tuple ``prefixItems``
  become ``items`` (one schema or an ``anyOf`` of the element schemas) with the length bounds.
* ``exclusiveMinimum``/``exclusiveMaximum``/``multipleOf`` are not in the subset: they move into
  the description as plain words (``Must be > 0.``) so the model still learns them. Validation
  is local and always enforces every constraint.
"""

from __future__ import annotations

import json
import threading
from typing import Annotated, Any, get_origin

from pydantic import TypeAdapter
from pydantic.fields import FieldInfo

from agentloop.errors import ToolSchemaError

__all__ = ["adapter_and_schema", "copy_json", "field_info_of"]

# Keywords of the documented subset that are copied as they are.
_KEEP = frozenset(
    {
        "type",
        "format",
        "description",
        "default",
        "enum",
        "required",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
    }
)
# Keywords whose values are sub-schemas (cleaned recursively). With ``_KEEP``: every keyword
# of the subset the Interactions API accepts (MCP schemas are adapted to the same subset).
_NESTED = frozenset({"properties", "items", "additionalProperties", "anyOf"})
SCHEMA_KEYWORDS = _KEEP | _NESTED
_HINTS = {"exclusiveMinimum": "Must be > {}.", "exclusiveMaximum": "Must be < {}."}

_CACHE_LIMIT = 2048
_cache: dict[Any, tuple[TypeAdapter[Any], dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def field_info_of(annotation: Any) -> FieldInfo | None:
    """The ``Field(...)`` in ``Annotated[T, Field(...)]``, if any (the last one wins)."""
    if get_origin(annotation) is not Annotated:
        return None
    found = None
    for meta in annotation.__metadata__:
        if isinstance(meta, FieldInfo):
            found = meta
    return found


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    hash(value)
    return value


def _cache_key(annotation: Any) -> Any:
    # Typing constructs hash structurally and classes by identity, which is what we want. A
    # ``FieldInfo`` hashes by identity, so ``Annotated[int, Field(ge=1)]`` written in two
    # functions would never share an entry: key it by its settings instead.
    if get_origin(annotation) is Annotated:
        metas = []
        for meta in annotation.__metadata__:
            if isinstance(meta, FieldInfo):
                metas.append(("FieldInfo", _freeze(list(meta.__repr_args__()))))
            else:
                hash(meta)
                metas.append(meta)
        return ("Annotated", _cache_key(annotation.__origin__), tuple(metas))
    hash(annotation)
    return annotation


def adapter_and_schema(annotation: Any) -> tuple[TypeAdapter[Any], dict[str, Any]]:
    """The cached (validator, cleaned schema) of a type. Never mutate the returned schema."""
    try:
        key: Any = _cache_key(annotation)
    except TypeError:  # something unhashable in the annotation: build without caching
        key = None
    if key is not None:
        hit = _cache.get(key)
        if hit is not None:
            return hit
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(annotation)
        raw = adapter.json_schema()
    except Exception as exc:  # pydantic raises several error types; all mean "cannot declare"
        raise ToolSchemaError(_first_line(exc)) from exc
    defs = raw.get("$defs", {})
    schema = _clean(raw, defs, ())
    assert isinstance(schema, dict)
    result = (adapter, schema)
    if key is not None:
        with _cache_lock:
            if len(_cache) >= _CACHE_LIMIT:
                _cache.clear()
            _cache[key] = result
    return result


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _clean(node: Any, defs: dict[str, Any], stack: tuple[str, ...]) -> Any:
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in stack:
            raise ToolSchemaError(
                f"type '{name}' is recursive (it contains itself), and tool schemas must be "
                "self-contained; use a non-recursive type (e.g. limit the nesting to a fixed "
                "depth with separate models, or pass the nested part as a JSON string)"
            )
        if name not in defs:
            raise ToolSchemaError(f"schema reference {ref!r} cannot be resolved")
        resolved = _clean(defs[name], defs, (*stack, name))
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if siblings:
            resolved = {**resolved, **_clean(siblings, defs, stack)}
        return resolved

    out: dict[str, Any] = {}
    hints: list[str] = []
    prefix: list[Any] | None = None
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _clean(sub, defs, stack) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _clean(value, defs, stack)
        elif key in ("anyOf", "oneOf"):
            out["anyOf"] = [_clean(sub, defs, stack) for sub in value]
        elif key == "allOf":
            for sub in value:  # pydantic only emits single-element allOf wrappers
                out.update(_clean(sub, defs, stack))
        elif key == "prefixItems":
            prefix = [_clean(sub, defs, stack) for sub in value]
        elif key == "const":
            out["enum"] = [value]
        elif key in _HINTS:
            hints.append(_HINTS[key].format(json.dumps(value)))
        elif key == "multipleOf":
            hints.append(f"Must be a multiple of {json.dumps(value)}.")
        elif key in _KEEP:
            out[key] = value
        # everything else (title, $defs, discriminator, examples, ...) is dropped
    if prefix is not None:
        variants = prefix + ([out["items"]] if "items" in out else [])
        unique: dict[str, Any] = {json.dumps(v, sort_keys=True): v for v in variants}
        out["items"] = (
            next(iter(unique.values())) if len(unique) == 1 else {"anyOf": list(unique.values())}
        )
    if hints:
        base = out.get("description", "")
        out["description"] = f"{base} {' '.join(hints)}".strip()
    return out


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON-like value (dicts and lists), far cheaper than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value
