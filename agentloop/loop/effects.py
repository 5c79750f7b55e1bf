"""Every effect the turn engine yields, as plain data.

The engine (``engine.py``, with ``compaction.py`` and ``hooks.py`` it delegates to) never
performs I/O: it yields one of these objects and receives the answer. A *world* performs
them (``drive.py``: the blocking and the awaiting conversation, a DBOS workflow, your own).
What a world must do with each effect, and what it answers:

======================  ===============================================================
effect                  the world does / answers
======================  ===============================================================
``SendRequest(body)``   create an interaction with ``body``; the final ``Interaction``
                        (or throw the exception the client raised)
``RunTools(calls)``     run the calls; one ``ToolOutcome``-like object per call (``call``,
                        ``result``, ``error``, ``duration``, ``value``), or ``InDoubt(call)``
                        for a call that may have run but whose result is unknown
``WaitBackground(i)``   wait until background interaction ``i`` finishes; the final
                        ``Interaction``
``Persist(journal)``    append ``journal.pending`` to the store at ``journal.version`` and
                        call ``journal.written(new_version)``; ``None``
``Emit(event)``         hand the event to the caller; ``None``
``Summarize(...)``      call ``fn(steps)`` (awaited if async) or send ``body``; the summary
                        text or the ``Interaction``
``RunHook(hook, ev)``   call ``hook(ev)`` (awaited if async); what it returned (or throw
                        what it raised)
======================  ===============================================================

``watch`` and ``around`` are observation only (``agentloop.observe``): a world reports
retries and stream events of a request to ``watch``, and enters ``around(call)`` where a
call's tool code runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from agentloop.types import FunctionCallStep, Interaction

    from .events import LoopEvent
    from .state import Journal
    from .turn import Turn

__all__ = [
    "Effect",
    "Emit",
    "InDoubt",
    "Persist",
    "Protocol",
    "RunHook",
    "RunTools",
    "SendRequest",
    "Summarize",
    "SummarizeFn",
    "WaitBackground",
]

SummarizeFn = Callable[[list[Any]], Union[str, Awaitable[str]]]
"""A summarize callable of ``Compaction``: the steps to fold in, the summary text out (sync or
async)."""


@dataclass(slots=True)
class SendRequest:
    """Create an interaction with this body; answer with the final ``Interaction``."""

    body: dict[str, Any]
    # Observation only: the world reports retries and stream events here.
    watch: Callable[[LoopEvent], None] | None = None


@dataclass(slots=True)
class RunTools:
    """Run these calls; answer with one outcome per call.

    ``progress`` (a ``ToolProgress``) is filled in by the world as calls start and finish;
    when the run is interrupted (KeyboardInterrupt, cancellation), the world gives calls
    still running ``grace`` seconds to finish, then throws the interruption in: the engine
    reads ``progress`` to record what is known (real results, calls in doubt, calls that
    never started)."""

    calls: list[FunctionCallStep]
    # Observation only: entered around each call's tool code (makes its span current).
    around: Callable[[FunctionCallStep], AbstractContextManager[Any]] | None = None
    progress: Any = None
    grace: float = 5.0


@dataclass(slots=True)
class InDoubt:
    """An answer to ``RunTools`` for one call: it started in an earlier execution and it is
    unknown whether it finished. The engine pauses the turn for a human decision on it."""

    call: FunctionCallStep


@dataclass(slots=True)
class WaitBackground:
    """Wait until this background interaction leaves ``queued``/``in_progress``."""

    interaction: Interaction


@dataclass(slots=True)
class Persist:
    """Write the journal's pending records to the store; answer with ``None``."""

    journal: Journal


@dataclass(slots=True)
class Emit:
    """Hand this event to the caller (``stream``); no answer expected."""

    event: LoopEvent


@dataclass(slots=True)
class Summarize:
    """Write a summary of ``steps``: call ``fn`` (sync or async) or send ``body`` (a
    ``store=false`` request); answer with the summary text, or the ``Interaction``."""

    steps: list[Any]
    fn: SummarizeFn | None = None
    body: dict[str, Any] | None = None


@dataclass(slots=True)
class RunHook:
    """Call ``hook(event)``; answer with what it returned (awaited if it is awaitable)."""

    hook: Callable[[Any], Any]
    event: Any


Effect = Union[SendRequest, RunTools, WaitBackground, Persist, Emit, Summarize, RunHook]
"""Any effect the engine yields."""
Protocol = Generator[Effect, Any, "Turn"]
"""A turn as the engine runs it: yields effects, receives answers, returns the ``Turn``."""
