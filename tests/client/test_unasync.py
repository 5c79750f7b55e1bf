"""``client/_async.py`` mirrors ``client/_sync.py`` line for line (the unasync check).

Both drivers only move bytes; every decision lives in the sans-I/O core. Turning the async
driver into sync code with the fixed word list below must give the sync driver exactly, so
a fix made to one driver and forgotten in the other fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import agentloop.client

CLIENT = Path(agentloop.client.__file__).parent

# (async spelling, sync spelling), applied in order, as whole words where it matters.
REPLACEMENTS: list[tuple[str, str]] = [
    (r"import asyncio\n", "import time\n"),
    (r"AsyncGenerator\[InteractionEvent, None\]", "Generator[InteractionEvent, None, None]"),
    (
        r"AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping",
        "Callable, Generator, Iterator, Mapping",
    ),
    (
        r"Callable\[\[float\], Awaitable\[Any\]\] = asyncio\.sleep",
        "Callable[[float], None] = time.sleep",
    ),
    (r"import AsyncClientBase,", "import ClientBase,"),
    (r"\bAsyncClientBase\b", "ClientBase[httpx.Client]"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncClient\b", "Client"),
    (r"\bAsyncInteractionStream\b", "InteractionStream"),
    (r"\bAsyncInteractions\b", "Interactions"),
    (r"An asyncio client", "A client"),
    (r"\(or await until_done\(\)\)", "(or call until_done())"),
    (r"\basync_retrying\b", "retrying"),
    (r"\baiter_bytes\b", "iter_bytes"),
    (r"\baread\b", "read"),
    (r"\baclose\b", "close"),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    (r"__aiter__", "__iter__"),
    (r"__anext__", "__next__"),
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\(await (self\._client\._send\(spec\))\)", r"\1"),
    (r"\bawait ", ""),
]


def _body(source: str) -> str:
    """The module without its docstring (the one place where the two may differ)."""
    match = re.match(r'\s*""".*?"""\n', source, re.S)
    assert match, "each driver starts with a docstring"
    return source[match.end() :]


def unasync(source: str) -> str:
    for pattern, replacement in REPLACEMENTS:
        source = re.sub(pattern, replacement, source)
    return source


def test_async_driver_mirrors_the_sync_driver() -> None:
    sync = _body((CLIENT / "_sync.py").read_text())
    converted = _body(unasync((CLIENT / "_async.py").read_text()))
    # Black-style wrapping may differ where names got shorter: compare token streams.
    assert _tokens(converted) == _tokens(sync)


def _tokens(source: str) -> list[str]:
    tokens = re.findall(r"\w+|[^\w\s]", source)
    # The formatter's "magic trailing comma" comes and goes with line wrapping.
    return [t for n, t in enumerate(tokens) if not (t == "," and tokens[n + 1 : n + 2] == [")"])]


def test_the_check_can_fail() -> None:
    source = (CLIENT / "_async.py").read_text()
    sync = _tokens(_body((CLIENT / "_sync.py").read_text()))
    for change in (
        "state.new_connection()",
        "if failed is not None:\n                raise failed",
    ):
        assert change in source
        forgotten = source.replace(change, "pass", 1)  # a fix made to one driver only
        assert _tokens(_body(unasync(forgotten))) != sync
