"""Deterministic JSON values from JSON Schemas, optionally drawing on the user's words.

Used by the demo model for function-call arguments and for ``response_format`` output.
Supports the subset the API documents plus what pydantic emits: ``type`` (also lists),
``properties``/``required``, ``items``, ``enum``/``const``, ``anyOf``/``oneOf``/``allOf``,
``$ref`` into ``$defs``/``definitions``, numeric bounds, ``minItems``/``maxItems``,
``minLength``/``maxLength`` and common string ``format`` values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Hints", "generate", "words"]

_STOP = """a an the is are was were be been am i me my we our you your he she it its they them
    their this that these those of in on at to for from by with about into over and or not no
    do does did what whats which who whom how when where why can could would should will shall
    may might must please tell give get show find let lets us some any all there here have has
    had if then than so just also very much many more most one given e g eg like want need
    know make"""
STOP_WORDS = frozenset(_STOP.split())

_MAX_HINT_CHARS = 4000
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9']*")
_CAPS = re.compile(r"\b[A-Z][a-zA-Z'\-]+(?:\s+[A-Z][a-zA-Z'\-]+)*")
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_URL = re.compile(r"https?://[^\s\"'<>]+")


def stem(word: str) -> str:
    w = word.lower().strip("'")
    for suffix in ("ing", "es", "s", "ed"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def words(text: str) -> set[str]:
    """Stemmed content words of ``text`` (stop words removed); splits snake/camel case."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ")
    return {stem(w) for w in _WORD.findall(text) if w.lower() not in STOP_WORDS}


@dataclass
class Hints:
    """Values found in the user's text, consumed as arguments are filled."""

    text: str = ""
    entities: list[str] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)
    numbers: list[float] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    offset: int = 0  # rotates entities between parallel calls

    @classmethod
    def from_text(cls, text: str, offset: int = 0) -> Hints:
        # Hints come from the start of the text only: some patterns backtrack on long input.
        text = text[:_MAX_HINT_CHARS]
        quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]
        entities: list[str] = []
        initial: list[str] = []  # sentence-initial single words: capitalised by grammar
        for m in _CAPS.finditer(text):
            phrase = " ".join(
                w
                for w in m.group(0).split()
                if w.lower().replace("'", "") not in STOP_WORDS and not w.lower().endswith("'s")
            )
            if not phrase or phrase in entities or phrase in initial:
                continue
            before = text[: m.start()].rstrip()
            if (not before or before[-1] in ".?!") and " " not in phrase:
                initial.append(phrase)
            else:
                entities.append(phrase)
        entities = entities or initial
        return cls(
            text=text,
            entities=entities,
            quoted=quoted,
            numbers=[float(n) for n in _NUMBER.findall(text)],
            urls=_URL.findall(text),
            emails=_EMAIL.findall(text),
            offset=offset,
        )

    def topic(self) -> str:
        """A short phrase naming what the text is about."""
        m = re.search(r"\b(?:for|about|of|on)\s+(?:an?\s+|the\s+)?([^?.!,;]+)", self.text, re.I)
        phrase = (
            m.group(1)
            if m
            else " ".join(w for w in _WORD.findall(self.text) if w.lower() not in STOP_WORDS)
        )
        return " ".join(phrase.split()[:4]) or "example"


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 32:
        ref = schema["$ref"]
        node: Any = root
        for part in ref.lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        merged = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**node, **merged}
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _kind(schema: dict[str, Any]) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        non_null = [x for x in t if x != "null"]
        return non_null[0] if non_null else "null"
    if t is None:
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
    return t if isinstance(t, str) else None


def generate(
    schema: Any,
    hints: Hints | None = None,
    *,
    name: str = "",
    root: dict[str, Any] | None = None,
    required_only: bool = False,
    depth: int = 0,
) -> Any:
    """A value valid against ``schema``; strings and numbers come from ``hints`` if possible."""
    root = root if root is not None else (schema if isinstance(schema, dict) else {})
    s = _resolve(schema, root)
    h = hints or Hints()
    if "const" in s:
        return s["const"]
    if isinstance(s.get("enum"), list) and s["enum"]:
        lowered = h.text.lower()
        for value in s["enum"]:
            if isinstance(value, str) and value and value.lower() in lowered:
                return value
        return next((v for v in s["enum"] if v is not None), s["enum"][0])
    for key in ("anyOf", "oneOf"):
        if isinstance(s.get(key), list) and s[key]:
            branches = [_resolve(b, root) for b in s[key]]
            pick = next((b for b in branches if _kind(b) != "null"), branches[0])
            return generate(pick, h, name=name, root=root, required_only=required_only, depth=depth)
    if isinstance(s.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in s["allOf"]:
            merged.update(_resolve(part, root))
        merged.update({k: v for k, v in s.items() if k != "allOf"})
        return generate(merged, h, name=name, root=root, required_only=required_only, depth=depth)
    kind = _kind(s)
    if kind == "object" or (kind is None and depth == 0):
        return _object(s, h, root, required_only, depth)
    if kind == "array":
        return _array(s, h, name, root, required_only, depth)
    if kind in ("integer", "number"):
        return _number(s, h, kind)
    if kind == "boolean":
        return not re.search(r"\b(no|not|false|disable|off)\b", h.text, re.I)
    if kind == "null":
        return None
    return _string(s, h, name)


def _object(
    s: dict[str, Any], h: Hints, root: dict[str, Any], required_only: bool, depth: int
) -> dict[str, Any]:
    props = s.get("properties") or {}
    required = s.get("required") or []
    keys = [k for k in props if k in required] if required_only else list(props)
    keys += [k for k in required if k not in keys]
    if depth > 6:
        keys = [k for k in keys if k in required]
    return {
        k: generate(
            props.get(k, {}), h, name=k, root=root, required_only=required_only, depth=depth + 1
        )
        for k in keys
    }


def _array(
    s: dict[str, Any],
    h: Hints,
    name: str,
    root: dict[str, Any],
    required_only: bool,
    depth: int,
) -> list[Any]:
    lo = int(s.get("minItems", 1))
    hi = int(s.get("maxItems", 3))
    n = max(lo, min(hi, 2 if depth > 0 else 3))
    if depth > 6:
        n = lo
    items = s.get("items", {})
    out = []
    for i in range(n):
        value = generate(
            items,
            h,
            name=f"{name} {i + 1}",
            root=root,
            required_only=required_only,
            depth=depth + 1,
        )
        if s.get("uniqueItems") and value in out and isinstance(value, str):
            value = f"{value} {i + 1}"
        out.append(value)
    return out


def _number(s: dict[str, Any], h: Hints, kind: str) -> float | int:
    value: float = h.numbers.pop(0) if h.numbers else float(s.get("default", 1) or 1)
    lo = s.get("minimum", s.get("exclusiveMinimum"))
    hi = s.get("maximum", s.get("exclusiveMaximum"))
    if lo is not None and value < lo:
        value = lo + (1 if "exclusiveMinimum" in s and "minimum" not in s else 0)
    if hi is not None and value > hi:
        value = hi - (1 if "exclusiveMaximum" in s and "maximum" not in s else 0)
    return int(value) if kind == "integer" else value


_FORMATS = {
    "date": "2025-01-01",
    "date-time": "2025-01-01T12:00:00Z",
    "time": "12:00:00",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def _string(s: dict[str, Any], h: Hints, name: str) -> str:
    fmt = s.get("format")
    lname = name.lower()
    value: str
    if fmt in ("email",) and h.emails:
        value = h.emails[0]
    elif fmt in ("uri", "url") or "url" in lname:
        value = h.urls[0] if h.urls else _FORMATS["uri"]
    elif isinstance(fmt, str) and fmt in _FORMATS:
        value = _FORMATS[fmt]
    elif h.quoted:
        value = h.quoted[0]
    elif any(k in lname for k in ("query", "question", "prompt", "text", "message", "topic")):
        value = h.text.strip() or "example"
    elif h.entities:
        value = h.entities[h.offset % len(h.entities)]
    else:
        topic = h.topic()
        value = f"{topic} {name}".strip() if name and not name[-1].isdigit() else topic
        if name and name[-1].isdigit():
            value = f"{topic} ({name.split()[-1]})"
    lo, hi = int(s.get("minLength", 0)), s.get("maxLength")
    if len(value) < lo:
        value = value + "x" * (lo - len(value))
    if hi is not None and len(value) > int(hi):
        value = value[: int(hi)]
    return value
