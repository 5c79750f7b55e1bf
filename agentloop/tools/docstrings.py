"""Descriptions from docstrings (Google, NumPy, reST, Epydoc) via docstring-parser.

The style is picked by a cheap look at section markers instead of docstring-parser's AUTO
mode, which parses the text once per style (about 3x slower) just to choose the best one.
"""

from __future__ import annotations

import inspect
import re

import docstring_parser
from docstring_parser import DocstringStyle

__all__ = ["parse_docstring"]

_NUMPY = re.compile(
    r"^\s*(Parameters|Other Parameters|Returns|Yields|Receives|Raises|Warns|Attributes"
    r"|See Also|Notes|Examples)\s*\n\s*-{3,}\s*$",
    re.MULTILINE,
)
_GOOGLE = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns|Return"
    r"|Yields|Raises|Attributes|Example|Examples|Note|Notes|Todo)\s*:\s*$",
    re.MULTILINE,
)
_PARAM_KINDS = frozenset({"param", "parameter", "arg", "argument", "key", "keyword"})


def _style(text: str) -> DocstringStyle | None:
    if ":param" in text or ":return" in text or ":raises" in text or ":type " in text:
        return DocstringStyle.REST
    if "@param" in text or "@return" in text or "@type" in text or "@raise" in text:
        return DocstringStyle.EPYDOC
    if _NUMPY.search(text):
        return DocstringStyle.NUMPYDOC
    if _GOOGLE.search(text):
        return DocstringStyle.GOOGLE
    return None


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into (description without its sections, {parameter: description})."""
    if not doc or not doc.strip():
        return "", {}
    text = inspect.cleandoc(doc)
    style = _style(text)
    if style is None:
        return text, {}
    try:
        parsed = docstring_parser.parse(text, style)
    except docstring_parser.ParseError:
        return text, {}
    params: dict[str, str] = {}
    for param in parsed.params:
        if not param.args or param.args[0] not in _PARAM_KINDS:
            continue
        # NumPy allows "a, b : int" for two parameters sharing one entry.
        for name in param.arg_name.split(","):
            name = name.strip().lstrip("*")
            if name:
                params[name] = (param.description or "").strip()
    return (parsed.description or "").strip(), params
