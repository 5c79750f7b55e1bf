"""How the demo model acts like a small agent: choose tools, fill typed arguments, chain calls.

A rule-based stand-in, not a language model. The rules (also listed in docs/testing.md):

1. **Tool choice by meaning.** A tool's vocabulary is its name (split at ``_`` and case),
   its description and its parameter names; both it and the request are mapped through a
   small table of concepts (``plus``/``sum``/``total`` mean *add*, ``forecast``/``rain`` mean
   *weather*, ``look up``/``find`` mean *search*...). A concept in the tool's name weighs 3, in
   its description or parameter names 1; a tool is chosen with a name hit or two other hits,
   and only if its required parameters can be filled (or fed by another tool, or asked for).
   Number words and small words never count.
2. **Typed arguments** come from the request: numbers (digits or words, a number right before
   the parameter's name first: ``3 days``), quoted strings, capitalised names (cities,
   people), enum values named in the text, dates (``2025-03-14``, ``March 14, 2025``), e-mail
   addresses and URLs; ``query``-like parameters take the quoted text or what follows
   ``search for``/``look up``/``about``. Optional parameters are filled only when the request
   names a value.
3. **Arithmetic**: ``17 plus 25 times 2`` (symbols or words, usual precedence) is computed
   with ``add``/``subtract``/``multiply``/``divide``-style tools (two number parameters), one
   call per operation, a result feeding the next call; or in one call of a calculator tool
   taking an ``expression`` string.
4. **Chaining**: a required parameter the request does not give is fed by another tool whose
   name or description mentions it (``get_location`` for ``city``, ``search`` returning
   ``url`` for ``fetch_page(url)``): that tool runs first, and its result fills the parameter.
   Independent calls go out together, in parallel.
5. **Asking**: a required parameter nothing can fill is asked for in plain words (``Which
   city should I use?``), never invented; the user's next message fills it.
6. **Answering from results**: when every planned call has its result, the reply states what
   each tool returned (and, for arithmetic, the computed value).

Deterministic: the plan is derived again from the history at every request, so the same
history gives the same reply.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ._schema import stem
from ._understand import (
    MISSING,
    NUMBER,
    Found,
    concepts,
    extract,
    kind_of,
    name_words,
    number_words,
)

__all__ = ["ASK", "Call", "Plan", "Ref", "next_calls", "plan_turn"]


# --- tools ----------------------------------------------------------------------------------


@dataclass
class ToolView:
    tool: Any
    name: str
    name_concepts: set[str]
    other_concepts: set[str]
    properties: dict[str, dict[str, Any]]
    required: list[str]
    order: int

    @classmethod
    def of(cls, tool: Any, order: int) -> ToolView:
        params = tool.parameters if isinstance(tool.parameters, dict) else {}
        props = params.get("properties") or {}
        other = concepts(tool.description or "")
        for pname, pschema in props.items():
            other |= concepts(pname)
            if isinstance(pschema, dict):
                other |= concepts(str(pschema.get("description") or ""))
        return cls(
            tool=tool,
            name=tool.name,
            name_concepts=concepts(tool.name or ""),
            other_concepts=other,
            properties={k: v if isinstance(v, dict) else {} for k, v in props.items()},
            required=[k for k in params.get("required") or [] if isinstance(k, str)],
            order=order,
        )

    def score(self, said: set[str]) -> tuple[int, int]:
        name_hits = len(said & self.name_concepts)
        other_hits = len(said & (self.other_concepts - self.name_concepts))
        return name_hits * 3 + other_hits, name_hits

    def numeric_params(self) -> list[str]:
        return [k for k, v in self.properties.items() if kind_of(v) in ("integer", "number")]

    def mentions(self, param: str) -> bool:
        """Whether this tool's name or description names ``param`` (it may produce it)."""
        words = set(name_words(param)) - {"id"} or set(name_words(param))
        vocabulary = {stem(w) for w in self.name_concepts | self.other_concepts}
        vocabulary |= set(name_words(self.name)) | {
            stem(w) for w in name_words(self.tool.description or "")
        }
        text = (self.tool.description or "").lower()
        return bool(words) and (words <= vocabulary or param.lower() in text)


# --- plans ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """An argument that is the result (or one field of it) of an earlier planned call."""

    call: int
    key: str


@dataclass
class Call:
    tool: ToolView
    args: dict[str, Any]
    after: list[int] = field(default_factory=list)  # calls whose results this one needs
    op: str = ""  # the arithmetic symbol, for the answer


@dataclass
class Plan:
    calls: list[Call] = field(default_factory=list)
    ask: tuple[str, str, str] | None = None  # (tool, parameter, description)
    expression: str = ""


ASK = re.compile(r"To use (\w+), I need the (\w+)")


def _clauses(text: str) -> list[str]:
    parts = re.split(
        r"\s*(?:,\s*(?:and\s+)?(?:then\s+)?|;\s*|\band then\b|\bthen\b|\band\b)\s*", text
    )
    return [p for p in parts if p and p.strip(" ?.!")]


def _fill(view: ToolView, found: Found, forced: bool) -> tuple[dict[str, Any], list[str]]:
    args: dict[str, Any] = {}
    missing: list[str] = []
    found.naming(view.name)
    for pname in [*view.required, *[k for k in view.properties if k not in view.required]]:
        schema = view.properties.get(pname, {})
        value = extract(pname, schema, found, required=pname in view.required)
        if value is not MISSING:
            args[pname] = value
        elif pname in view.required:
            missing.append(pname)
    if forced and missing:
        from ._schema import Hints, generate

        hints = Hints.from_text(found.text)
        for pname in missing:
            args[pname] = generate(view.properties.get(pname, {}), hints, name=pname)
        missing = []
    return args, missing


# --- arithmetic -----------------------------------------------------------------------------

_OPS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}
_OP_WORDS = [
    (r"multiplied\s+by|times|\u00d7|\*", "*"),
    (r"divided\s+by|over|\u00f7|/", "/"),
    (r"plus|\+", "+"),
    (r"minus|less|\u2212", "-"),
]
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}


def _expression(text: str) -> list[str] | None:
    """Tokens of ``17 plus 25 times 2`` (``['17', '+', '25', '*', '2']``), or None."""
    t = number_words(text.lower())
    m = re.search(r"\b(?:sum|total)\s+of\s+(" + NUMBER + r"(?:\s*(?:,|and)\s*" + NUMBER + r")+)", t)
    if m:
        nums = re.findall(NUMBER, m.group(1))
        return [x for n in nums for x in ("+", n)][1:]
    m = re.search(r"\bproduct\s+of\s+(" + NUMBER + r"(?:\s*(?:,|and)\s*" + NUMBER + r")+)", t)
    if m:
        nums = re.findall(NUMBER, m.group(1))
        return [x for n in nums for x in ("*", n)][1:]
    m = re.search(
        r"\b(add|multiply)\s+(" + NUMBER + r")\s+(?:and|by|to|with)\s+(" + NUMBER + ")", t
    )
    if m:
        return [m.group(2), "+" if m.group(1) == "add" else "*", m.group(3)]
    for pattern, symbol in _OP_WORDS:
        t = re.sub(rf"(?<=[\d\s])(?:{pattern})(?=[\s\d-])", f" {symbol} ", t)
    m = re.search(rf"{NUMBER}(?:\s*[+\-*/]\s*{NUMBER})+", t)
    if not m:
        return None
    return re.findall(r"(?<![\d.])-?\d+(?:\.\d+)?|[+\-*/]", m.group(0).replace(" - ", " -- "))


def _normalise(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for tok in tokens:
        if tok == "--":
            out.append("-")
        elif out and out[-1] not in _PREC and tok.startswith("-") and len(tok) > 1:
            out += ["-", tok[1:]]
        else:
            out.append(tok)
    return out


def _arith_plan(tokens: list[str], tools: list[ToolView]) -> Plan | None:
    by_op: dict[str, ToolView] = {}
    calculator = None
    for view in tools:
        for symbol, concept in _OPS.items():
            if concept in view.name_concepts and len(view.numeric_params()) >= 2:
                by_op.setdefault(symbol, view)
        if calculator is None and "calculate" in view.name_concepts | view.other_concepts:
            strings = [k for k, v in view.properties.items() if kind_of(v) == "string"]
            if strings:
                calculator = (view, strings[0])
    tokens = _normalise(tokens)
    expression = " ".join(tokens)
    ops = {t for t in tokens if t in _PREC}
    if ops and ops <= set(by_op):
        plan = Plan(expression=expression)
        # Shunting-yard into calls; operands are numbers or Refs to earlier calls.
        values: list[Any] = []
        pending: list[str] = []

        def reduce() -> None:
            symbol = pending.pop()
            right, left = values.pop(), values.pop()
            view = by_op[symbol]
            a, b = view.numeric_params()[:2]
            after = [v.call for v in (left, right) if isinstance(v, Ref)]
            plan.calls.append(Call(view, {a: left, b: right}, after=after, op=symbol))
            values.append(Ref(len(plan.calls) - 1, ""))

        for tok in tokens:
            if tok in _PREC:
                while pending and _PREC[pending[-1]] >= _PREC[tok]:
                    reduce()
                pending.append(tok)
            else:
                number = float(tok)
                values.append(int(number) if number.is_integer() else number)
        while pending:
            reduce()
        return plan
    if calculator is not None:
        view, param = calculator
        return Plan(calls=[Call(view, {param: expression})], expression=expression)
    return None


# --- the whole turn -------------------------------------------------------------------------


def plan_turn(
    tools: list[Any], text: str, *, forced: bool = False, asked: tuple[str, str] | None = None
) -> Plan:
    """What to call for ``text`` with these tools (no calls: answer, or ask)."""
    views = [ToolView.of(t, i) for i, t in enumerate(tools) if t.name]
    if asked is not None:
        # The user answers our question: their words fill the parameter asked for.
        return _answer_to_question(views, text, asked)
    tokens = _expression(text)
    if tokens is not None:
        plan = _arith_plan(tokens, views)
        if plan is not None:
            return plan
    said = concepts(text)
    ranked = sorted(
        ((view.score(said), view) for view in views),
        key=lambda x: (x[0][0], x[0][1], -x[1].order),
        reverse=True,
    )
    chosen = [v for (score, name_hits), v in ranked if name_hits > 0 or score >= 2]
    if not chosen:
        if forced and views:
            chosen = [ranked[0][1]]
        else:
            return Plan()
    best = ranked[0][0][0]
    chosen = [v for v in chosen if v.score(said)[0] * 2 >= best or forced][:4]
    return _calls_for(views, chosen, text, forced)


def _calls_for(views: list[ToolView], chosen: list[ToolView], text: str, forced: bool) -> Plan:
    plan = Plan()
    clauses = _clauses(text)
    if len(chosen) == 1:
        view = chosen[0]
        strings = [k for k in view.required if kind_of(view.properties.get(k, {})) == "string"]
        found = Found.of(text)
        if len(view.required) == 1 and strings and len(found.entities) > 1 and " and " in text:
            # "weather in London and Paris": one call per name, in parallel.
            for entity in found.entities[:4]:
                plan.calls.append(Call(view, {strings[0]: entity}))
            return plan
        parts = [(view, text)]
    else:
        parts = []
        for view in chosen:
            # The clause that speaks of this tool most; the whole text when none does.
            scored = [(view.score(concepts(c))[0], -i, c) for i, c in enumerate(clauses)]
            score, _, clause = max(scored) if scored else (0, 0, text)
            parts.append((view, clause if score > 0 else text))
    produced: dict[str, int] = {}
    for view, clause in parts:
        args, missing = _fill(view, Found.of(clause), forced)
        if not missing and clause != text:
            # Optional values may sit outside the clause ("in Paris, for 3 days").
            more, _ = _fill(view, Found.of(text), forced)
            args = {**more, **args} if set(more) - set(args) else args
        after: list[int] = []
        producers = {
            p: next(
                (v for v in views if v is not view and v.mentions(p) and not _needs(v, clause)),
                None,
            )
            for p in missing
        }
        if view is not chosen[0] and None in producers.values():
            continue  # a secondary tool that cannot be filled is left out, not asked about
        for pname in missing:
            producer = producers[pname]
            if producer is None:
                plan.calls.clear()
                desc = str(view.properties.get(pname, {}).get("description") or "")
                plan.ask = (view.name, pname, desc)
                return plan
            if producer.name not in produced:
                pargs, _ = _fill(producer, Found.of(clause), True)
                plan.calls.append(Call(producer, pargs))
                produced[producer.name] = len(plan.calls) - 1
            index = produced[producer.name]
            args[pname] = Ref(index, pname)
            after.append(index)
        if view.name in produced and not after:
            continue  # already planned as a producer
        plan.calls.append(Call(view, args, after=after))
        produced.setdefault(view.name, len(plan.calls) - 1)
    return plan


def _needs(view: ToolView, clause: str) -> bool:
    """True when ``view`` cannot run from ``clause`` alone (a producer must not need more)."""
    _, missing = _fill(view, Found.of(clause), False)
    return bool(missing)


def _answer_to_question(views: list[ToolView], text: str, asked: tuple[str, str]) -> Plan:
    name, param = asked
    view = next((v for v in views if v.name == name), None)
    if view is None:
        return Plan()
    found = Found.of(text)
    value = extract(param, view.properties.get(param, {}), found)
    if value is MISSING:
        value = text.strip().strip(".?!") or MISSING
    if value is MISSING:
        return Plan(ask=(name, param, ""))
    args, missing = _fill(view, Found.of(text), False)
    args[param] = value
    missing = [m for m in missing if m != param]
    if missing:
        return Plan(ask=(name, missing[0], ""))
    return Plan(calls=[Call(view, args)])


# --- running the plan over the turn ---------------------------------------------------------


def _parse(result: Any) -> Any:
    if isinstance(result, str):
        try:
            return json.loads(result)
        except ValueError:
            return result
    if isinstance(result, list) and result and all(hasattr(b, "type") for b in result):
        texts = [getattr(b, "text", "") for b in result if getattr(b, "type", None) == "text"]
        return _parse(" ".join(texts)) if texts else result
    return result


def pick(result: Any, key: str) -> Any:
    """The part of a tool result that fills parameter ``key`` (a number for arithmetic)."""
    value = _parse(result)
    if isinstance(value, list) and value:
        return pick(value[0], key)
    if isinstance(value, dict):
        if key and key in value:
            return value[key]
        wanted = set(name_words(key)) if key else set()
        for k, v in value.items():
            if (wanted and wanted & set(name_words(k)) - {"id"}) or (
                wanted == {"id"} and k == "id"
            ):
                return v
        numbers = [v for v in value.values() if isinstance(v, (int, float))]
        if not key and len(numbers) >= 1:
            preferred = [
                value[k] for k in ("result", "value", "sum", "product", "answer") if k in value
            ]
            return preferred[0] if preferred else numbers[0]
        if len(value) == 1:
            return next(iter(value.values()))
    if isinstance(value, str) and not key:
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def next_calls(plan: Plan, results: list[Any]) -> list[tuple[str, dict[str, Any]]] | None:
    """The calls to make now, given the results of the calls made so far this turn.

    ``results`` are the turn's function results in call order. None: the plan is done (or a
    result failed, or the turn went another way): answer from the results.
    """
    done = len(results)
    if done >= len(plan.calls):
        return None
    # Calls go out in waves: every call whose inputs are known, together.
    wave_end = done
    while wave_end < len(plan.calls) and all(i < done for i in plan.calls[wave_end].after):
        wave_end += 1
    out = []
    for call in plan.calls[done:wave_end]:
        args = {}
        for k, v in call.args.items():
            if isinstance(v, Ref):
                v = pick(results[v.call], v.key)
            args[k] = v
        out.append((call.tool.name, args))
    return out or None
