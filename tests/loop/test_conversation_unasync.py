"""``loop/_async.py`` mirrors ``loop/_sync.py`` (the unasync check, as for the client).

The drive loop, the world that performs effects and the conversation class exist once per
world of Python. Turning the async module into sync code with the fixed word list below must
give the sync module exactly (docstrings and formatting aside), so a fix made to one driver and
forgotten in the other fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import agentloop.loop

LOOP = Path(agentloop.loop.__file__).parent

# (async spelling, sync spelling), applied in order.
REPLACEMENTS: list[tuple[str, str]] = [
    (r"import asyncio\n", ""),
    (r"AsyncIterator, Callable, Iterable", "Callable, Iterable, Iterator"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bcall_async\b", "call_blocking"),
    (r"\bAsyncBackgroundTurn\b", "BackgroundTurn"),
    (r"\bAsyncClient\b", "Client"),
    (r"\bAsyncConversationWorld\b", "ConversationWorld"),
    (r"\bAsyncConversation\b", "Conversation"),
    (r"\bAsyncEventStream\b", "EventStream"),
    (r"\bAsyncTimeTravel\b", "TimeTravel"),
    (r"\badrive\b", "drive"),
    (r"\barun\b", "run"),
    (r"\baappend\b", "append"),
    (r"\bawrite\b", "write"),
    (r"await asyncio\.to_thread\(self\.tools\.close\)", "self.tools.close()"),
    (r"\baclose\b", "close"),
    (r"\b(?:a)(guard|call|events)\b", r"\1"),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    (r"__aiter__", "__iter__"),
    (r"__anext__", "__next__"),
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\bawait ", ""),
    # What ``async for`` must spell out, plain iteration says in one line.
    (r"for (\w+) in (world\.request\(effect, box\)|events):\n\s+yield \1\n", r"yield from \2\n"),
]


def unasync(source: str) -> str:
    for pattern, replacement in REPLACEMENTS:
        source = re.sub(pattern, replacement, source)
    return source


def code(source: str) -> str:
    """The module's code without docstrings, in one canonical formatting."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body[0] = ast.Pass()
    return ast.unparse(tree)


def test_async_conversation_mirrors_the_sync_conversation() -> None:
    converted = code(unasync((LOOP / "_async.py").read_text()))
    assert converted == code((LOOP / "_sync.py").read_text())


def test_the_check_can_fail() -> None:
    source = (LOOP / "_async.py").read_text()
    sync = code((LOOP / "_sync.py").read_text())
    for change in (
        ("value = await world.perform(effect)", "value = await world.perform(effect) or 1"),
        ("error = exc", "error = None"),
    ):
        assert change[0] in source
        assert code(unasync(source.replace(*change))) != sync
