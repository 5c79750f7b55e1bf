"""A conformance corpus generated from the installed official SDK (google-genai), test-only.

Walks every pydantic class the SDK reaches from its request bodies (``CreateModelInteraction``,
``CreateAgentInteraction``), the ``Interaction`` resource and the stream events
(``InteractionSSEEvent``), and builds *maximal* wire payloads: every field of every class set,
every union variant and every value of every closed value set used at least once. Nothing is
written by hand, so a new SDK release shows its new gaps at once.

* :func:`cover` turns a type into a list of payloads that together use every variant beneath it
  (the first one is the default maximal instance).
* :class:`Corpus` counts what was reached (classes, union variants, literal values) and the
  required fields of each class.
"""

from __future__ import annotations

import collections.abc
import copy
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from typing_extensions import TypeAliasType

# Fields the SDK models but that never travel on the wire (computed helpers of the SDK).
SDK_ONLY = frozenset(
    {"output_text", "output_image", "output_audio", "output_video", "continuation_ids"}
)
NEW_VALUE = "x_value_from_a_newer_api"
"""The value used for an open value set's ``UnrecognizedStr`` arm: a value no SDK knows."""


def _unwrap(t: Any) -> Any:
    while True:
        if isinstance(t, TypeAliasType):
            t = t.__value__
            continue
        if get_origin(t) is typing.Annotated:
            t = get_args(t)[0]
            continue
        return t


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _is_unknown(t: Any) -> bool:
    return _is_model(t) and t.__name__.startswith("Unknown")


def _is_union(t: Any) -> bool:
    return get_origin(t) in (Union, types.UnionType)


def _is_unrecognized(t: Any) -> bool:
    return isinstance(t, type) and t.__name__ == "UnrecognizedStr"


@dataclass
class Corpus:
    """The payloads of one SDK root type and what they reach."""

    classes: set[type[BaseModel]] = field(default_factory=set)
    variants: set[tuple[str, str]] = field(default_factory=set)  # (union site, variant)
    literals: set[tuple[str, str]] = field(default_factory=set)  # (site, value)
    required: set[tuple[type[BaseModel], str]] = field(default_factory=set)
    _stack: list[type[BaseModel]] = field(default_factory=list)

    def cover(self, t: Any, site: str = "") -> list[Any]:
        """Payloads that, together, use every class, variant and value beneath ``t``."""
        t = _unwrap(t)
        if _is_model(t):
            return self._model(t)
        if _is_union(t):
            out: list[Any] = []
            for arm in get_args(t):
                if arm is type(None) or _is_unknown(arm):
                    continue
                arm_u = _unwrap(arm)
                name = arm_u.__name__ if _is_model(arm_u) else repr(arm_u)
                if _is_unrecognized(arm_u):
                    self.literals.add((site, NEW_VALUE))
                    out.append(NEW_VALUE)
                    continue
                self.variants.add((site, name))
                out.extend(self.cover(arm, f"{site}|{name}"))
            return out
        origin = get_origin(t)
        if origin is Literal:
            values = list(get_args(t))
            for value in values:
                self.literals.add((site, repr(value)))
            return values
        if origin in (list, collections.abc.Sequence):
            (item,) = get_args(t) or (Any,)
            # One list holding an instance of every variant: compact, and every one is used.
            return [self.cover(item, site + "[]")]
        if origin in (dict, collections.abc.Mapping):
            args = get_args(t)
            values = self.cover(args[1], site + "{}") if args else ["v"]
            return [{f"k{n}": v for n, v in enumerate(values)}]
        if t is str:
            return ["s"]
        if t is bool:
            return [True]
        if t is int:
            return [7]
        if t is float:
            return [0.5]
        if t is Any or t is object:
            return [{"any": [1, "two", None, {"three": 3.5}]}]
        if _is_unrecognized(t):
            return [NEW_VALUE]
        raise TypeError(f"the corpus does not know how to make a {t!r}")

    def _model(self, cls: type[BaseModel]) -> list[Any]:
        if cls in self._stack:  # a recursive type: stop here with its required fields only
            return [{}]
        self.classes.add(cls)
        self._stack.append(cls)
        try:
            per_field: list[tuple[str, bool, list[Any]]] = []
            for name, info in cls.model_fields.items():
                if name in SDK_ONLY:
                    continue
                key = info.alias or name
                if info.is_required():
                    self.required.add((cls, key))
                values = self.cover(info.annotation, f"{cls.__name__}.{key}")
                keep = info.is_required() or key in ("type", "event_type")  # + discriminators
                per_field.append((key, keep, values))
        finally:
            self._stack.pop()
        count = max((len(values) for _, _, values in per_field), default=1)
        # The first instance is maximal (every field set); the others carry the next variant
        # of each field that has one, the required fields and the discriminator, so the
        # corpus stays small.
        return [
            {
                key: copy.deepcopy(values[n] if n < len(values) else values[0])
                for key, keep, values in per_field
                if n == 0 or n < len(values) or keep
            }
            for n in range(count)
        ]


def build(root: Any) -> tuple[Corpus, list[Any]]:
    """The corpus of ``root``: what it reaches and its payloads."""
    corpus = Corpus()
    return corpus, corpus.cover(root, getattr(_unwrap(root), "__name__", "root"))


# --- how much of the SDK agentloop's types model ------------------------------------------


@dataclass
class Typing:
    """Field-by-field comparison of an SDK type with agentloop's counterpart."""

    typed: set[str] = field(default_factory=set)
    untyped: set[str] = field(default_factory=set)  # kept (as extras or plain JSON), not typed
    open_sets: dict[str, set[str]] = field(default_factory=dict)  # site -> values we lack


def _arms(t: Any) -> list[Any]:
    t = _unwrap(t)
    if _is_union(t):
        out: list[Any] = []
        for arm in get_args(t):
            if arm is not type(None):
                out.extend(_arms(arm))
        return out
    return [t]


def _tag(model: Any) -> Any:
    info = model.model_fields.get("type") or model.model_fields.get("event_type")
    if info is None:
        return None
    args = get_args(_unwrap(info.annotation))
    return args[0] if len(args) == 1 else None


def _literal_values(arms: list[Any]) -> set[str]:
    return {v for a in arms if get_origin(a) is Literal for v in get_args(a)}


def compare(sdk_type: Any, our_type: Any, site: str, out: Typing, seen: set[Any]) -> None:
    """Walk ``sdk_type`` and ``our_type`` together, recording typed and untyped sites."""
    sdk_arms = [a for a in _arms(sdk_type) if not _is_unknown(a)]
    our_arms = _arms(our_type)
    if any(a is Any or a is object for a in our_arms) and not all(
        a is Any or a is object for a in sdk_arms
    ):
        out.untyped.add(site)
        return
    wanted = _literal_values(sdk_arms)
    if wanted:
        lacking = {str(v) for v in wanted - _literal_values(our_arms)}
        if lacking:
            out.open_sets[site] = lacking
    our_dict = any(get_origin(o) is dict for o in our_arms)
    our_unknown = any(_is_model(o) and o.__name__.startswith("Unknown") for o in our_arms)
    for arm in sdk_arms:
        if _is_model(arm) and not arm.model_fields and our_dict:
            continue  # an open object both sides keep as JSON
        if get_origin(arm) is dict and our_unknown:
            continue  # a raw object: our open union keeps it as its Unknown variant
        if _is_model(arm):
            tag = _tag(arm)
            match = [o for o in our_arms if _is_model(o) and (tag is None or _tag(o) == tag)]
            if not match:
                out.untyped.add(f"{site}<{arm.__name__}>")
                continue
            ours = match[0]
            if (arm, ours) in seen:
                continue
            seen.add((arm, ours))
            for name, info in arm.model_fields.items():
                if name in SDK_ONLY:
                    continue
                key = info.alias or name
                mine = next(
                    (f for n, f in ours.model_fields.items() if (f.alias or n) == key), None
                )
                where = f"{arm.__name__}.{key}"
                if mine is None:
                    out.untyped.add(where)
                else:
                    out.typed.add(where)
                    compare(info.annotation, mine.annotation, where, out, seen)
        elif get_origin(arm) in (list, collections.abc.Sequence):
            inner = [get_args(o)[0] for o in our_arms if get_origin(o) is list and get_args(o)]
            if inner:
                compare(get_args(arm)[0], inner[0], site + "[]", out, seen)
            else:
                out.untyped.add(site + "[]")
        elif get_origin(arm) in (dict, collections.abc.Mapping):
            inner = [get_args(o)[1] for o in our_arms if get_origin(o) is dict and get_args(o)]
            if inner:
                compare(get_args(arm)[1], inner[0], site + "{}", out, seen)
            else:
                out.untyped.add(site + "{}")
