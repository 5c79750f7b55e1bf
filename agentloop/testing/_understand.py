"""What the demo model reads in a request: concepts (rule 1) and typed values (rule 2).

A tool and a request are compared by *concepts* (a small table maps ``plus``/``sum``/``total``
to *add*, ``forecast``/``rain`` to *weather*...), and arguments are taken from the values the
request holds, by the parameter's JSON type and name. See ``_planner`` for the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ._schema import STOP_WORDS, stem

__all__ = [
    "CONCEPT_OF",
    "MISSING",
    "NUMBER",
    "Found",
    "concepts",
    "extract",
    "kind_of",
    "name_words",
    "number_words",
]

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
CONCEPT_OF: dict[str, str] = {
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


def concepts(text: str) -> set[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ")
    out = set()
    for token in _TOKEN.findall(text):
        if token.lower() in _IGNORED:
            continue
        s = stem(token)
        out.add(CONCEPT_OF.get(s, s))
    return out


# --- typed values found in the request ----------------------------------------------------

NUMBER = r"-?\d+(?:\.\d+)?"
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
# Parameters that carry the request itself to another agent or service.
_FREE_TEXT = tuple(
    stem(w) for w in re.findall(r"\w+", "task message request instruction input content body ask")
)
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


def number_words(text: str) -> str:
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
    """Capitalised names, leaving out a sentence's first word unless it is a phrase (or no
    other name is found: ``_initial_only``)."""
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
            and stem(w) not in CONCEPT_OF
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


def _initial_only(text: str) -> bool:
    """Whether ``_entities(text)`` are only sentences' first words ("Paris weather?", but
    also "Ask the researcher ..."): a parameter for the request itself never takes them."""
    return not any(
        not _SENTENCE_START.search(text[: m.start()]) or " " in m.group(0).strip()
        for m in _CAPS.finditer(text)
    )


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
    initial_only: bool = False  # ``entities`` are only sentences' first words
    # What follows the tool's own name ("run slow_job nightly"), set per tool by the planner.
    after_tool: list[str] = field(default_factory=list)

    def naming(self, tool: str) -> Found:
        """These values, plus what follows a mention of ``tool`` in the text."""
        m = re.search(
            rf"\b{re.escape(tool)}\b\s*:?\s+(?:(?:for|with|on|about|to)\s+)?([^.?!;]+)",
            self.text,
        )
        self.after_tool = [m.group(1).strip()] if m and m.group(1).strip() else []
        return self

    @classmethod
    def of(cls, text: str) -> Found:
        text = text[:_MAX_TEXT]
        plain = _QUOTED.sub(" ", text)
        dates = _dates(plain)
        no_dates = _DATE_DMY.sub(" ", _DATE_MDY.sub(" ", _DATE_ISO.sub(" ", plain)))
        no_dates = _URL.sub(" ", _EMAIL.sub(" ", no_dates))
        return cls(
            text=text,
            numbers=[float(n) for n in re.findall(NUMBER, number_words(no_dates))],
            quoted=[next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)],
            entities=_entities(no_dates),
            initial_only=_initial_only(no_dates),
            dates=dates,
            emails=_EMAIL.findall(text),
            urls=_URL.findall(text),
            paths=_PATH.findall(_URL.sub(" ", _EMAIL.sub(" ", plain))),
            called=_CALLED.findall(plain),
        )


MISSING: Any = object()


def name_words(name: str) -> list[str]:
    return [stem(w) for w in re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").split()]


def kind_of(schema: dict[str, Any]) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t is None:
        for key in ("anyOf", "oneOf"):
            for branch in schema.get(key) or []:
                if isinstance(branch, dict) and branch.get("type") not in (None, "null"):
                    return kind_of(branch)
    return t if isinstance(t, str) else "string"


def _number_for(name: str, found: Found, kind: str, required: bool) -> Any:
    text = number_words(found.text)
    for word in {stem(name), name.lower().rstrip("s")}:
        m = re.search(rf"({NUMBER})\s+{re.escape(word)}", text, re.I) or re.search(
            rf"\b{re.escape(word)}\w*\s*(?:of|=|:|is)?\s*({NUMBER})", text, re.I
        )
        if m:
            value = float(m.group(1))
            if value in found.numbers:
                found.numbers.remove(value)
            return int(value) if kind == "integer" else value
    if not found.numbers or not required:  # an optional number must be named ("3 days")
        return MISSING
    value = found.numbers.pop(0)
    return int(value) if kind == "integer" and value.is_integer() else value


def _topic(found: Found) -> str:
    m = _TOPIC.search(found.text.strip())
    if m:
        return m.group(1).strip()
    words = [w for w in found.text.split() if w.lower().strip("?.!,") not in STOP_WORDS]
    return " ".join(words).strip(" ?.!,") or found.text.strip()


def extract(name: str, schema: dict[str, Any], found: Found, required: bool = True) -> Any:
    """The value of one parameter from the request, or ``MISSING``. An optional parameter
    takes only a value the request names for it (never the request text itself)."""
    kind = kind_of(schema)
    lname = name.lower()
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        lowered = found.text.lower()
        for value in enum:
            if isinstance(value, str) and re.search(rf"\b{re.escape(value.lower())}\b", lowered):
                return value
        return MISSING
    if kind in ("integer", "number"):
        return _number_for(name, found, kind, required)
    if kind == "boolean":
        if re.search(r"\b(yes|true|enable|on)\b", found.text, re.I):
            return True
        if re.search(r"\b(no|false|disable|off)\b", found.text, re.I):
            return False
        return MISSING
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        if kind_of(items or {}) in ("integer", "number"):
            numbers = list(found.numbers)
            found.numbers.clear()
            return numbers or MISSING
        strings = found.quoted or found.entities
        return list(strings) if strings else MISSING
    if kind != "string":
        return MISSING
    fmt = schema.get("format")
    if fmt in ("date", "date-time") or "date" in lname or lname in ("day", "when"):
        return found.dates.pop(0) if found.dates else MISSING
    if fmt == "email" or "email" in lname:
        return found.emails.pop(0) if found.emails else MISSING
    if fmt in ("uri", "url") or any(k in lname for k in ("url", "link", "uri")):
        return found.urls.pop(0) if found.urls else MISSING
    if (
        any(k in name_words(lname) for k in ("path", "file", "filename", "filepath"))
        and found.paths
    ):
        return found.paths.pop(0)
    if not required:  # an optional text parameter takes only a format it names (above)
        return MISSING
    if any(
        k == lname or lname.startswith(k + "_") or lname.endswith("_" + k)
        for k in ("expression", "expr", "formula")
    ):
        return MISSING  # filled by the arithmetic rule only
    if any(lname == k or lname.endswith(k) or lname.startswith(k) for k in _QUERY_NAMES):
        if found.quoted:
            return found.quoted.pop(0)
        topic = _topic(found)
        return topic or MISSING
    named = any(k in name_words(lname) for k in _NAME_PARAMS)
    entities = found.entities
    if found.initial_only and any(k in name_words(lname) for k in _FREE_TEXT):
        entities = []  # a task is never the request's first word ("Ask the researcher ...")
    pools = (
        (found.called, entities, found.quoted) if named else (found.quoted, found.called, entities)
    )
    for pool in pools:
        if pool:
            return pool.pop(0)
    if not required:
        return MISSING
    if found.after_tool:  # "run slow_job nightly": the words after the tool's name
        return found.after_tool.pop(0)
    if any(k in name_words(lname) for k in _FREE_TEXT):
        # A parameter for the request itself ("task", "message"): what follows a colon, or
        # the request's content words.
        _, colon, rest = found.text.partition(":")
        return (rest if colon and rest.strip() else _topic(found)).strip() or MISSING
    return MISSING
