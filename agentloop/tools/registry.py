"""``ToolRegistry``: the tools of a conversation, by name, and where their calls run."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Union

from agentloop._portal import LoopThread, stop_loop
from agentloop.types import FunctionCallStep

from ._pool import ToolPool
from .context import ToolContextFactory, default_context
from .errors import ToolDefinitionError
from .execution import (
    DEFAULT_GRACE,
    CallWrapper,
    ToolOutcome,
    ToolProgress,
    arguments_problem,
    run_async,
    run_sync,
)
from .tool import Tool, tool
from .toolset import Toolset

__all__ = ["ToolLike", "ToolRegistry"]

ToolLike = Union[Tool[..., Any], Callable[..., Any], "ToolRegistry", Toolset]
"""What ``tools=`` accepts: ``@tool`` functions, plain functions, registries and toolsets."""


def check_list(tools: Any) -> None:
    """Raise ``ToolDefinitionError`` when ``tools`` is one tool or a file name, not a list."""
    if isinstance(tools, (str, bytes, Tool, Toolset)) or callable(tools):
        name = getattr(tools, "name", None) or getattr(tools, "__name__", None) or "..."
        raise ToolDefinitionError(
            f"tools takes a list (tools=[...]), not {type(tools).__name__} {tools!r:.60}; "
            "a file of tools is loaded with agentloop's --tools FILE (CLI)"
            if isinstance(tools, (str, bytes))
            else f"tools takes a list: tools=[{name}], not the tool itself"
        )


class ToolRegistry:
    """Tools by name, their declarations, and the drivers that run the model's calls.

    ``ToolRegistry([get_weather, search])`` accepts ``Tool`` objects, plain callables (wrapped
    with ``@tool``) and other registries. Sync tools run in a bounded pool of ``max_workers``
    daemon threads (32 by default: tools mostly wait on I/O, threads are only started when
    calls overlap, and a model may ask for 10-20 calls at once); a call that timed out no
    longer counts against the bound. Async tools called from sync code run on a private
    event-loop thread. Both are created on first use; ``close()`` (or ``with``) releases them.
    Every call runs in a copy of the caller's ``contextvars`` context.

    It also accepts toolsets (``Toolset``, e.g. ``agentloop.mcp.MCPToolset``): their tools are
    fetched when names or declarations are first needed, and ``close()`` closes them.
    """

    def __init__(self, tools: Iterable[ToolLike] = (), *, max_workers: int = 32) -> None:
        if max_workers < 1:
            raise ToolDefinitionError(f"max_workers must be at least 1, got {max_workers}.")
        self.max_workers = max_workers
        self._tools: dict[str, Tool[..., Any]] = {}
        self._declarations: list[dict[str, Any]] | None = None
        self._pool: ToolPool | None = None
        self._loop_thread: LoopThread | None = None
        self._lock = threading.Lock()
        self._toolsets: list[Toolset] = []
        # (the toolsets' tools last seen, own tools + those, by name)
        self._expanded: tuple[tuple[Tool[..., Any], ...], dict[str, Tool[..., Any]]] | None = None
        check_list(tools)
        for item in tools:
            if isinstance(item, ToolRegistry):
                for inner in item._tools.values():
                    self.add(inner)
                for toolset in item._toolsets:
                    self.add_toolset(toolset)
            elif not isinstance(item, Tool) and isinstance(item, Toolset):
                self.add_toolset(item)
            else:
                self.add(item)

    # --- contents ------------------------------------------------------------------------------

    def add(self, item: Tool[..., Any] | Callable[..., Any]) -> Tool[..., Any]:
        """Register a tool (a plain callable is wrapped with ``@tool``); returns the ``Tool``."""
        if not isinstance(item, Tool) and not callable(item):
            raise ToolDefinitionError(
                f"tools=[...] takes @tool functions, plain functions and toolsets, not "
                f"{type(item).__name__} {item!r:.60}"
            )
        added = item if isinstance(item, Tool) else tool(item)
        if added.needs_binding:
            raise ToolDefinitionError(
                f"Tool {added.name!r} is a method taken from its class; register it from an "
                f"instance (e.g. ToolRegistry([obj.{added.name}]))."
            )
        existing = self._tools.get(added.name)
        if existing is not None and existing is not added:
            raise ToolDefinitionError(
                f"Duplicate tool name {added.name!r}: {existing.function!r} and "
                f"{added.function!r} are both called {added.name!r}; give one another name "
                "with @tool(name=...)."
            )
        self._tools[added.name] = added
        self._declarations = None
        self._expanded = None
        return added

    def add_toolset(self, toolset: Toolset) -> None:
        """Register a ``Toolset``; its tools are fetched when first needed (not here)."""
        if not any(toolset is known for known in self._toolsets):
            self._toolsets.append(toolset)
            self._declarations = None
            self._expanded = None

    @property
    def toolsets(self) -> list[Toolset]:
        """The toolsets registered (their tools are listed on each lookup)."""
        return list(self._toolsets)

    def _all(self) -> dict[str, Tool[..., Any]]:
        """Own tools plus the toolsets' current ones (asks the toolsets: may start them)."""
        if not self._toolsets:
            return self._tools
        current = tuple(t for toolset in self._toolsets for t in toolset.tools())
        expanded = self._expanded
        if (
            expanded is not None
            and len(expanded[0]) == len(current)
            and all(a is b for a, b in zip(expanded[0], current, strict=True))
        ):
            return expanded[1]
        merged = dict(self._tools)
        for found in current:
            existing = merged.get(found.name)
            if existing is not None and existing is not found:
                raise ToolDefinitionError(
                    f"Duplicate tool name {found.name!r}: a toolset provides a tool called "
                    f"{found.name!r} and another tool has that name; give the toolset a "
                    "prefix (e.g. MCPToolset.stdio(..., prefix='git_')) or rename the tool."
                )
            merged[found.name] = found
        self._expanded = (current, merged)
        self._declarations = None
        return merged

    def get(self, name: str) -> Tool[..., Any] | None:
        """The tool called ``name`` (a toolset's included), or ``None``."""
        found = self._tools.get(name)
        return found if found is not None or not self._toolsets else self._all().get(name)

    def __contains__(self, item: object) -> bool:
        tools = self._all()
        if isinstance(item, Tool):
            return tools.get(item.name) is item
        return item in tools

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[Tool[..., Any]]:
        return iter(list(self._all().values()))

    def __bool__(self) -> bool:
        return bool(self._tools) or bool(self._toolsets)

    @property
    def names(self) -> list[str]:
        """The names of every tool, toolsets' included, in registration order."""
        return list(self._all())

    def declarations(self) -> list[dict[str, Any]]:
        """The wire ``function`` tools, in registration order (cached until the tools change)."""
        tools = self._all()
        if self._declarations is None:
            self._declarations = [t.declaration() for t in tools.values()]
        return self._declarations

    def __repr__(self) -> str:
        return f"ToolRegistry({self.names!r})"

    # --- execution -----------------------------------------------------------------------------

    def needs_approval(
        self, call: FunctionCallStep, context_factory: ToolContextFactory | None = None
    ) -> bool:
        """Whether ``call`` must wait for the user's approval before it runs.

        False for an unknown tool and for arguments that are not a JSON object (such calls
        are answered with an error result and never run, so there is nothing to approve).
        Otherwise the tool's ``requires_approval`` decides: a bool, or a policy called with
        the call and the context ``context_factory`` builds for it (see
        :meth:`Tool.needs_approval`).
        """
        found = self.get(call.name)
        if found is None or found.requires_approval is False:
            return False
        if arguments_problem(call) is not None:
            return False
        if found.requires_approval is True:
            return True
        return found.needs_approval(call, (context_factory or default_context)(call, found))

    def run(
        self,
        calls: Sequence[FunctionCallStep],
        *,
        context: ToolContextFactory | None = None,
        around: CallWrapper | None = None,
        progress: ToolProgress | None = None,
        grace: float = DEFAULT_GRACE,
    ) -> list[ToolOutcome]:
        """Run calls concurrently from sync code; outcomes come back in call order.

        ``around(call)``, if given, is a context manager entered where each call's tool code
        runs (its thread or task), e.g. to make the call's trace span current. ``progress``,
        if given, learns which calls started and finished; when the run is interrupted
        (KeyboardInterrupt), calls still running get ``grace`` seconds to finish first."""
        return run_sync(
            self, calls, context, self._get_pool, self._get_loop, around, progress, grace
        )

    async def arun(
        self,
        calls: Sequence[FunctionCallStep],
        *,
        context: ToolContextFactory | None = None,
        around: CallWrapper | None = None,
        progress: ToolProgress | None = None,
        grace: float = DEFAULT_GRACE,
    ) -> list[ToolOutcome]:
        """Run calls concurrently on the running loop; outcomes come back in call order
        (``progress`` and ``grace`` as in :meth:`run`, for a cancellation)."""
        return await run_async(self, calls, context, self._get_pool, around, progress, grace)

    def _get_pool(self) -> ToolPool:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    pool = ToolPool(self.max_workers)
                    # A registry dropped without close() (a conversation that simply goes
                    # away) must not leave its idle threads behind. (Not ``shutdown``: the
                    # finalizer may run in a pool thread that holds the pool's lock.)
                    weakref.finalize(self, pool.shutdown_soon)
                    self._pool = pool
        return self._pool

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        # One long-lived loop (agentloop._portal) rather than asyncio.run per batch: async
        # clients created by a tool (httpx.AsyncClient, ...) stay bound to it across calls.
        with self._lock:
            runner = self._loop_thread
            if runner is None or not runner.alive:
                runner = LoopThread("agentloop-tool-loop")
                weakref.finalize(self, stop_loop, runner.loop)
                self._loop_thread = runner
            return runner.loop

    def close(self) -> None:
        """Stop the thread pool and the private loop (running sync tools finish first,
        except timed-out ones: nothing can stop those, they end on their own), then close the
        toolsets. Calls a sync conversation runs in its own thread (those of quick tools) are
        not waited for: its ``send`` returns when they end; the calls of their batch it has
        not started yet still run."""
        with self._lock:
            pool, runner = self._pool, self._loop_thread
            self._pool = self._loop_thread = None
        if runner is not None:
            runner.stop()
        if pool is not None:
            pool.shutdown(wait=True)
        for toolset in self._toolsets:
            toolset.close()

    def __enter__(self) -> ToolRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
