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

from ._schema import STOP_WORDS, stem

__all__ = ["ASK", "Call", "Plan", "Ref", "next_calls", "plan_turn"]

# --- vocabulary ---------------------------------------------------------------------------

_CONCEPTS: dict[str, tuple[str, ...]] = {
    "add": ("add", "plus", "sum", "total", "addition", "+"),
    "subtract": ("subtract", "minus", "difference", "less", "-"),
    "multiply": ("multiply", "times", "product", "multiplied", "*", "\u00d7"),
    "divide": ("divide", "divided", "quotient", "ratio", "/", "\u00f7"),
    "calculate": ("calculate", "calculator", "compute", "evaluate", "math", "arithmetic"),
    "weather": (
        "weather",
        "temperature",
        "forecast",
        "rain",
        "raining",
        "sunny",
        "snow",
        "wind",
        "degrees",
        "umbrella",
        "hot",
        "cold",
        "warm",
    ),
    "time": ("time", "clock", "hour", "timezone"),
    "search": ("search", "find", "look", "lookup", "google", "web", "research", "query"),
    "fetch": ("fetch", "open", "read", "visit", "page", "download"),
    "email": ("email", "mail", "e-mail"),
    "send": ("send", "notify", "message"),
    "location": ("location", "where", "locate", "current", "here", "position"),
    "currency": ("currency", "dollars", "dollar", "euros", "euro", "yen", "convert", "exchange"),
    "delete": ("delete", "remove", "erase", "rm"),
    "file": ("file", "files", "document"),
    "order": ("order", "orders", "purchase"),
    "user": ("user", "customer", "account"),
}
_CONCEPT_OF: dict[str, str] = {
    stem(word): concept for concept, group in _CONCEPTS.items() for word in group
}
_WORDS_0_20 = re.findall(
    r"\w+",
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty",
)
_NUMBER_WORDS = {w: i for i, w in enumerate(_WORDS_0_20)}
_NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "hundred": 100})
_IGNORED = STOP_WORDS | set(_NUMBER_WORDS) | {"number", "numbers", "value", "values"}
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9']*|[+\-*/\u00d7\u00f7]")


def _concepts(text: str) -> set[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ")
    out = set()
    for token in _TOKEN.findall(text):
        if token.lower() in _IGNORED:
            continue
        s = stem(token)
        out.add(_CONCEPT_OF.get(s, s))
    return out


# --- typed values found in the request ----------------------------------------------------

_NUM = r"-?\d+(?:\.\d+)?"
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'")
_CAPS = re.compile(r"\b[A-Z][a-zA-Z'\-]+(?:\s+(?:of\s+|de\s+)?[A-Z][a-zA-Z'\-]+)*")
_MONTH_NAMES = re.findall(
    r"\w+", "january february march april may june july august september october november december"
)
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DATE_MDY = re.compile(r"\b([A-Z][a-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_DATE_DMY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Z][a-z]+),?\s+(\d{4})\b")
_PATH = re.compile(
    r"(?<![\w@])(?:[\w~.-]*/)*[\w~-][\w~.-]*\.[A-Za-z][A-Za-z0-9]{0,4}\b|(?:[\w~.-]*/)+[\w~.-]+"
)
_CALLED = re.compile(r"\b(?:called|named|titled)\s+([\w.-]+)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_URL = re.compile(r"https?://[^\s\"'<>]+")
_TOPIC = re.compile(
    r"\b(?:search(?:\s+the\s+web)?\s+for|look\s+up|find(?:\s+out)?|about|research|google)\s+"
    r"(?:an?\s+|the\s+)?([^?.!;]+?)(?:\s+and\s+(?:then\s+)?(?:open|read|fetch|summari[sz]e|"
    r"send|email)\b.*)?[?.!;]*$",
    re.I,
)
_QUERY_NAMES = ("query", "question", "prompt", "text", "topic", "keyword", "term", "search", "q")
# Parameters that hold a proper name take capitalised names before quoted text.
_NAME_PARAMS = tuple(
    stem(w)
    for w in re.findall(
        r"\w+",
        "name person city location place country user username who town recipient destination "
        "origin timezone company author",
    )
)
_SENTENCE_START = re.compile(r"(?:^|[.?!]\s+)$")
_MAX_TEXT = 2000


def _number_words(text: str) -> str:
    """``seventeen`` -> ``17`` (whole words only)."""
    return re.sub(
        r"\b(" + "|".join(_NUMBER_WORDS) + r")\b",
        lambda m: str(_NUMBER_WORDS[m.group(1).lower()]),
        text,
        flags=re.I,
    )


def _dates(text: str) -> list[str]:
    found = [f"{y}-{m}-{d}" for y, m, d in _DATE_ISO.findall(text)]
    for month, day, year in _DATE_MDY.findall(text):
        if month.lower() in _MONTHS:
            found.append(f"{year}-{_MONTHS[month.lower()]:02d}-{int(day):02d}")
    for day, month, year in _DATE_DMY.findall(text):
        if month.lower() in _MONTHS:
            found.append(f"{year}-{_MONTHS[month.lower()]:02d}-{int(day):02d}")
    return found


def _entities(text: str) -> list[str]:
    """Capitalised names, leaving out a sentence's first word unless it is a phrase."""
    dateish = {m.lower() for m in _MONTHS}
    out: list[str] = []
    initial: list[str] = []
    for m in _CAPS.finditer(text):
        words = [
            w
            for w in m.group(0).split()
            if w.lower().strip("'") not in STOP_WORDS
            and w.lower() not in dateish
            and not w.lower().endswith("'s")
            and stem(w) not in _CONCEPT_OF
        ]
        phrase = " ".join(words)
        if not phrase or phrase in out:
            continue
        first = m.group(0).split()[0] == words[0]
        if first and " " not in phrase and _SENTENCE_START.search(text[: m.start()]):
            initial.append(phrase)
            continue
        out.append(phrase)
    return out or [w for w in initial if w.lower() not in STOP_WORDS]


@dataclass
class Found:
    """Typed values of one request clause; used values are taken off as arguments fill."""

    text: str
    numbers: list[float]
    quoted: list[str]
    entities: list[str]
    dates: list[str]
    emails: list[str]
    urls: list[str]
    paths: list[str]
    called: list[str]  # the word after "called", "named" or "titled"

    @classmethod
    def of(cls, text: str) -> Found:
        text = text[:_MAX_TEXT]
        plain = _QUOTED.sub(" ", text)
        dates = _dates(plain)
        no_dates = _DATE_DMY.sub(" ", _DATE_MDY.sub(" ", _DATE_ISO.sub(" ", plain)))
        no_dates = _URL.sub(" ", _EMAIL.sub(" ", no_dates))
        return cls(
            text=text,
            numbers=[float(n) for n in re.findall(_NUM, _number_words(no_dates))],
            quoted=[next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)],
            entities=_entities(no_dates),
            dates=dates,
            emails=_EMAIL.findall(text),
            urls=_URL.findall(text),
            paths=_PATH.findall(_URL.sub(" ", _EMAIL.sub(" ", plain))),
            called=_CALLED.findall(plain),
        )


_MISSING: Any = object()


def _words(name: str) -> list[str]:
    return [stem(w) for w in re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").split()]


def _kind(schema: dict[str, Any]) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t is None:
        for key in ("anyOf", "oneOf"):
            for branch in schema.get(key) or []:
                if isinstance(branch, dict) and branch.get("type") not in (None, "null"):
                    return _kind(branch)
    return t if isinstance(t, str) else "string"


def _number_for(name: str, found: Found, kind: str) -> Any:
    text = _number_words(found.text)
    for word in {stem(name), name.lower().rstrip("s")}:
        m = re.search(rf"({_NUM})\s+{re.escape(word)}", text, re.I) or re.search(
            rf"\b{re.escape(word)}\w*\s*(?:of|=|:|is)?\s*({_NUM})", text, re.I
        )
        if m:
            value = float(m.group(1))
            if value in found.numbers:
                found.numbers.remove(value)
            return int(value) if kind == "integer" else value
    if not found.numbers:
        return _MISSING
    value = found.numbers.pop(0)
    return int(value) if kind == "integer" and value.is_integer() else value


def _topic(found: Found) -> str:
    m = _TOPIC.search(found.text.strip())
    if m:
        return m.group(1).strip()
    words = [w for w in found.text.split() if w.lower().strip("?.!,") not in STOP_WORDS]
    return " ".join(words).strip(" ?.!,") or found.text.strip()


def extract(name: str, schema: dict[str, Any], found: Found) -> Any:
    """The value of one parameter from the request, or ``_MISSING``."""
    kind = _kind(schema)
    lname = name.lower()
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        lowered = found.text.lower()
        for value in enum:
            if isinstance(value, str) and re.search(rf"\b{re.escape(value.lower())}\b", lowered):
                return value
        return _MISSING
    if kind in ("integer", "number"):
        return _number_for(name, found, kind)
    if kind == "boolean":
        if re.search(r"\b(yes|true|enable|on)\b", found.text, re.I):
            return True
        if re.search(r"\b(no|false|disable|off)\b", found.text, re.I):
            return False
        return _MISSING
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        if _kind(items or {}) in ("integer", "number"):
            numbers = list(found.numbers)
            found.numbers.clear()
            return numbers or _MISSING
        strings = found.quoted or found.entities
        return list(strings) if strings else _MISSING
    if kind != "string":
        return _MISSING
    fmt = schema.get("format")
    if fmt in ("date", "date-time") or "date" in lname or lname in ("day", "when"):
        return found.dates.pop(0) if found.dates else _MISSING
    if fmt == "email" or "email" in lname:
        return found.emails.pop(0) if found.emails else _MISSING
    if fmt in ("uri", "url") or any(k in lname for k in ("url", "link", "uri")):
        return found.urls.pop(0) if found.urls else _MISSING
    if any(k in _words(lname) for k in ("path", "file", "filename", "filepath")) and found.paths:
        return found.paths.pop(0)
    if any(
        k == lname or lname.startswith(k + "_") or lname.endswith("_" + k)
        for k in ("expression", "expr", "formula")
    ):
        return _MISSING  # filled by the arithmetic rule only
    if any(lname == k or lname.endswith(k) or lname.startswith(k) for k in _QUERY_NAMES):
        if found.quoted:
            return found.quoted.pop(0)
        topic = _topic(found)
        return topic or _MISSING
    named = any(k in _words(lname) for k in _NAME_PARAMS)
    pools = (
        (found.called, found.entities, found.quoted)
        if named
        else (found.quoted, found.called, found.entities)
    )
    for pool in pools:
        if pool:
            return pool.pop(0)
    return _MISSING


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
        other = _concepts(tool.description or "")
        for pname, pschema in props.items():
            other |= _concepts(pname)
            if isinstance(pschema, dict):
                other |= _concepts(str(pschema.get("description") or ""))
        return cls(
            tool=tool,
            name=tool.name,
            name_concepts=_concepts(tool.name or ""),
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
        return [k for k, v in self.properties.items() if _kind(v) in ("integer", "number")]

    def mentions(self, param: str) -> bool:
        """Whether this tool's name or description names ``param`` (it may produce it)."""
        words = set(_words(param)) - {"id"} or set(_words(param))
        vocabulary = {stem(w) for w in self.name_concepts | self.other_concepts}
        vocabulary |= set(_words(self.name)) | {
            stem(w) for w in _words(self.tool.description or "")
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
    for pname in [*view.required, *[k for k in view.properties if k not in view.required]]:
        value = extract(pname, view.properties.get(pname, {}), found)
        if value is not _MISSING:
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
    t = _number_words(text.lower())
    m = re.search(r"\b(?:sum|total)\s+of\s+(" + _NUM + r"(?:\s*(?:,|and)\s*" + _NUM + r")+)", t)
    if m:
        nums = re.findall(_NUM, m.group(1))
        return [x for n in nums for x in ("+", n)][1:]
    m = re.search(r"\bproduct\s+of\s+(" + _NUM + r"(?:\s*(?:,|and)\s*" + _NUM + r")+)", t)
    if m:
        nums = re.findall(_NUM, m.group(1))
        return [x for n in nums for x in ("*", n)][1:]
    m = re.search(r"\b(add|multiply)\s+(" + _NUM + r")\s+(?:and|by|to|with)\s+(" + _NUM + ")", t)
    if m:
        return [m.group(2), "+" if m.group(1) == "add" else "*", m.group(3)]
    for pattern, symbol in _OP_WORDS:
        t = re.sub(rf"(?<=[\d\s])(?:{pattern})(?=[\s\d-])", f" {symbol} ", t)
    m = re.search(rf"{_NUM}(?:\s*[+\-*/]\s*{_NUM})+", t)
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
            strings = [k for k, v in view.properties.items() if _kind(v) == "string"]
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
    said = _concepts(text)
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
        strings = [k for k in view.required if _kind(view.properties.get(k, {})) == "string"]
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
            scored = [(view.score(_concepts(c))[0], -i, c) for i, c in enumerate(clauses)]
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
    if value is _MISSING:
        value = text.strip().strip(".?!") or _MISSING
    if value is _MISSING:
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
        wanted = set(_words(key)) if key else set()
        for k, v in value.items():
            if (wanted and wanted & set(_words(k)) - {"id"}) or (wanted == {"id"} and k == "id"):
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
