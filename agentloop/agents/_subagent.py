"""Sub-agents as tools: ``agent.as_tool(context="fresh" | "fork")``.

A sub-agent call runs a *child* conversation of the agent, through the same engine and the
same driver kind as its parent (a ``Conversation`` under a ``Conversation``, an
``AsyncConversation`` under an ``AsyncConversation``):

* it is journaled in the parent's store under an id derived from the parent's id and the
  call id, so re-running the call (after a crash, recovery runs it again: the tool is
  idempotent because its child is journaled) loads the child and *recovers* it: its finished
  tool calls are not run again;
* its state counts every request in the parent's usage (``ConversationState.rollup``) and its
  guard checks the parent's limits too (``NestedGuard``);
* ``context="fork"``: the child starts as a fork of the parent (``seed_fork``): the same
  history, and (stateful) the parent's chain, so its first request sends only the answers to
  the parent's open calls and the task, with ``previous_interaction_id``.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import TYPE_CHECKING, Any, Literal

from agentloop.errors import ConfigurationError, HookError, ToolError
from agentloop.loop.cancel import CANCEL_MESSAGE
from agentloop.tools import Tool, ToolContext
from agentloop.types import FunctionResultStep, output_text_of

if TYPE_CHECKING:
    from agentloop.loop.state import ConversationState
    from agentloop.loop.turn import Turn

    from ._agent import Agent

__all__ = ["AgentTool", "SubAgentPending", "child_id", "seed_fork"]

Context = Literal["fresh", "fork"]
TASK_DOC = "What the sub-agent should do: the whole task, in plain words."


def child_id(parent_id: str, call_id: str) -> str:
    """The id of the child conversation a call of a sub-agent tool runs (its journal key)."""
    return f"{parent_id}.sub.{call_id}"


def seed_fork(parent: ConversationState, child: Any, call_id: str, agent_name: str) -> None:
    """Start the conversation ``child`` as a fork of ``parent`` at its latest step, inside the
    call ``call_id``.

    The fork is time travel's (``seed_state``): the parent's history (its encodings shared),
    model view and, stateful, its chain, so the child's first request continues the parent's
    last interaction and nothing the server has is sent again. That interaction still has
    open calls (this one at least; the parent's turn is running), and the API refuses to
    continue a chain with unanswered calls: the child answers them in its own branch (the
    parent's chain is left as it is, and the parent answers them in its own)."""
    from agentloop.loop.records import Snapshot, encode
    from agentloop.loop.timetravel import seed_state

    old = child._state
    state = seed_state(parent, len(parent.turn_log))
    state.cut = None  # the parent's running turn: its open calls are answered below
    state.strategy = old.strategy
    state.status.label = old.status.label
    state.journal = old.journal
    child._state = state
    answers = [
        FunctionResultStep(
            call_id=call.id,
            name=call.name,
            result=(
                f"The {agent_name} sub-agent took this call over in its own branch of the "
                "conversation; its task follows."
                if call.id == call_id
                else "Not available in this branch: the parent conversation answers this call."
            ),
        )
        for call in state.open_calls.values()
    ]
    state.extend(answers, None)
    if state.journal is not None:
        # A new child: nothing written yet. Its first record is the fork point with the
        # answers in it: a snapshot with unanswered calls would load as a turn cut short.
        state.journal.pending[:] = [encode(Snapshot(child.to_dict()))]


class SubAgentPending(ToolError):
    """A sub-agent's turn paused for approval: its parent's call pauses with it.

    ``in_doubt``: the sub-agent's tools may already have taken effect (a call of its own is
    in doubt, or it ran tools before it paused), so the parent's call is in doubt too: it is
    never answered as if nothing had run."""

    holds_call = True  # the engine keeps the parent's call open and pauses on it

    def __init__(self, message: str, agent: str, calls: list[Any], in_doubt: bool) -> None:
        super().__init__(message)
        self.agent = agent
        self.calls = calls
        self.in_doubt = in_doubt


#: What a sub-agent whose run stopped before it answered (its parent's turn was interrupted)
#: is sent when its parent's call runs again: its history says what was done.
CONTINUE = (
    "Your run was interrupted before you answered; the conversation above is what was done. "
    "Go on with the task from there: do not repeat calls that already have results."
)


class AgentTool(Tool[..., Any]):
    """A tool that runs an ``Agent`` on a task (``agent.as_tool(...)``); one string
    parameter, ``task``."""

    agent: Agent
    context: Context
    resumes = True  # the call run again goes on with its child (idempotent for that)

    def __init__(
        self,
        agent: Agent,
        *,
        name: str | None = None,
        description: str | None = None,
        context: Context = "fresh",
        asynchronous: bool = True,
    ) -> None:
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ConfigurationError(
                f"as_tool(name=...) is the tool's name, a non-empty str, not {name!r}; leave "
                f"it out to use the agent's name ({agent.name!r})"
            )
        if context not in ("fresh", "fork"):
            raise ConfigurationError(
                f"as_tool(context=...) is 'fresh' or 'fork', not {context!r}: 'fresh' gives the "
                "sub-agent only the task, 'fork' the whole conversation"
            )

        async def run(ctx: ToolContext[Any], task: str) -> Any:
            """Run the sub-agent.

            Args:
                task: What the sub-agent should do: the whole task, in plain words.
            """
            return await run_subagent(self, ctx, task)

        def run_sync(ctx: ToolContext[Any], task: str) -> Any:
            """Run the sub-agent.

            Args:
                task: What the sub-agent should do: the whole task, in plain words.
            """
            return run_subagent_sync(self, ctx, task)

        text = description or agent.description or f"Ask the {agent.name} agent to do a task."
        function = run if asynchronous else run_sync
        if name is None:  # the agent's name, made a tool name as handoffs do ("my agent")
            from ._runtime import _UNSAFE

            name = _UNSAFE.sub("_", agent.name)
            if name[:1].isdigit() or name[:1] in ".:-":
                name = "_" + name
        super().__init__(function, name=name, description=text, idempotent=True)
        self.agent = agent
        self.context = context
        self._twin: AgentTool | None = None

    def variant_for(self, asynchronous: bool) -> AgentTool:
        """This tool for a conversation's driver: a blocking ``Conversation`` runs the
        sub-agent in the calling thread (no event-loop hop), an ``AsyncConversation`` as a
        task (cancelled with the turn)."""
        if asynchronous == self.is_async:
            return self
        if self._twin is None:
            self._twin = AgentTool(
                self.agent,
                name=self.name,
                description=self.description,
                context=self.context,
                asynchronous=asynchronous,
            )
            self._twin._twin = self
        return self._twin

    def __repr__(self) -> str:
        return f"AgentTool({self.agent.name!r}, name={self.name!r}, context={self.context!r})"


async def run_subagent(tool: AgentTool, ctx: ToolContext[Any], task: str) -> Any:
    from agentloop.loop import AsyncConversation

    parent = ctx.conversation
    if parent is None:
        raise ToolError(
            f"the {tool.name} sub-agent runs inside a conversation (its tool calls come from "
            "one); call agent.run(task) to run the agent on its own"
        )
    if not isinstance(parent, AsyncConversation):  # a blocking parent: a blocking child
        return await asyncio.to_thread(run_subagent_sync, tool, ctx, task)
    for old in _settled(parent):
        await old.aclose()
    child = _child(tool, parent, ctx.call_id, AsyncConversation)
    human = ctx.call_id in parent._state.approved_now
    try:
        try:
            step = _advance(child, task, human)
            turn = await step if inspect.isawaitable(step) else step
        except HookError as exc:
            raise ToolError(_hook_failed(tool, exc)) from exc
    finally:
        if not _keep(parent, child, ctx.call_id):
            await child.aclose()
    return _output(turn, tool, child)


def run_subagent_sync(tool: AgentTool, ctx: ToolContext[Any], task: str) -> Any:
    from agentloop.loop import AsyncConversation, Conversation

    parent = ctx.conversation
    if parent is None or isinstance(parent, AsyncConversation):
        raise ToolError(
            f"the {tool.name} sub-agent runs inside a conversation (its tool calls come from "
            "one); call agent.run(task) to run the agent on its own"
        )
    human = ctx.call_id in parent._state.approved_now
    with _Linked(parent, ctx.call_id) as link:
        for old in _settled(parent):
            old.close()
        child = link.child = _child(tool, parent, ctx.call_id, Conversation)
        try:
            if link.stopped:  # stopped before the child was there to cancel
                raise asyncio.CancelledError(CANCEL_MESSAGE)
            try:
                turn = _advance(child, task, human)
            except HookError as exc:
                raise ToolError(_hook_failed(tool, exc)) from exc
        finally:
            if not _keep(parent, child, ctx.call_id):
                child.close()
    return _output(turn, tool, child)


class _Linked:
    """A blocking child runs in a thread of its parent's tool batch: stopping the parent
    (``cancel()``, Ctrl-C: the batch's stop signal) cancels the child's turn too, which then
    stops as any turn does (its running calls get the same grace). The parent's call running
    again meanwhile waits for this run to end first (``_child``): one run of a child at once."""

    def __init__(self, parent: Any, call_id: str) -> None:
        self.parent = parent
        self.key = child_id(parent.id, call_id)
        self.child: Any = None
        self.stopped = False
        self.done = threading.Event()

    def _stop(self) -> None:
        self.stopped = True
        if self.child is not None:
            self.child.cancel()

    def __enter__(self) -> _Linked:
        self.wake = self.parent._stop.wake
        running = self.parent._running_children
        previous = running.get(self.key)
        if previous is not None:  # the run a stop left behind still ends (within its grace)
            while not previous.done.wait(0.05):
                if self.wake.done():  # this run is stopped meanwhile
                    raise asyncio.CancelledError(CANCEL_MESSAGE)
        running[self.key] = self
        self.wake.watch(self._stop)
        if self.stopped:
            self.wake.unwatch(self._stop)
            running.pop(self.key, None)
            self.done.set()
            raise asyncio.CancelledError(CANCEL_MESSAGE)
        return self

    def __exit__(self, *exc: object) -> None:
        self.wake.unwatch(self._stop)
        if self.parent._running_children.get(self.key) is self:
            del self.parent._running_children[self.key]
        self.done.set()


def _keep(parent: Any, child: Any, call_id: str) -> bool:
    """Keep the child in memory when no store keeps it, until its parent's call has its
    answer: should that call run again (its turn was stopped, even after the child finished:
    the answer was lost with the turn), it goes on with this child and never runs again what
    the child did. True when kept (left open)."""
    if parent.store is None:
        child._sub_call = call_id
        parent._children[child.id] = child
        return True
    parent._children.pop(child.id, None)
    return False


def _settled(parent: Any) -> list[Any]:
    """The children kept in memory whose parent's call has its answer now: dropped (for the
    caller to close)."""
    answered = [
        key
        for key, child in parent._children.items()
        if child._sub_call not in parent._state.open_calls and key not in parent._running_children
    ]
    return [parent._children.pop(key) for key in answered]


def _child(tool: AgentTool, parent: Any, call_id: str, cls: Any) -> Any:
    agent = tool.agent
    store = parent.store
    key = child_id(parent.id, call_id)
    live = parent._children.get(key)  # paused or stopped, in a conversation without a store
    if live is not None:
        return live
    known = store is not None and store.version(key) > 0
    child = agent._build(cls, parent.client, store, key, parent.strategy, parent.deps)
    if not known and tool.context == "fork":
        seed_fork(parent._state, child, call_id, agent.name)
    child._parent = parent
    child.interrupt_grace = parent.interrupt_grace  # stopped as its parent's tools are
    child._state.rollup = parent._state
    child._store_meta["run_of"] = parent.id  # part of its parent's run, not a session
    child._sub_base = len(child._state.turn_log)  # turns before its own (a fork's parent's)
    return child


def _hook_failed(tool: AgentTool, exc: HookError) -> str:
    """What the parent's model reads when a hook of the sub-agent failed (the developer's
    message, with its advice, goes to the log and the exception's cause): what failed, and
    which of the sub-agent's tools ran before."""
    cause = exc.__cause__
    why = f"{type(cause).__name__}: {cause}" if cause is not None else type(exc).__name__
    turn = exc.turn
    ran = [c for c in (turn.tool_calls if turn is not None else []) if c.duration > 0]
    done = (
        " Its tool calls that ran (their effects stand): "
        + ", ".join(f"{c.name} ({'failed' if c.is_error else 'ok'})" for c in ran)
        + "."
        if ran
        else " None of its tools ran."
    )
    return (
        f"The {tool.agent.name} sub-agent stopped before it answered: a hook failed ({why}).{done}"
    )


def _advance(child: Any, task: str, human: bool) -> Any:
    """Run (or go on with) the child's one turn: its ``Turn`` (a coroutine of it on the async
    driver), or the answer of a run that had finished."""
    what = _what(child, human)
    if what == "recover":
        return child.recover()
    if what == "paused":
        return child.resume()
    if what == "ask":
        return child._state.paused.turn
    if what == "done":
        return _finished_output(child)
    return child.send(CONTINUE if what == "continue" else task)


def _finished_output(child: Any) -> str:
    """The answer of a sub-agent whose run had finished before its parent's call was run again
    (after a crash of the parent): its final text, or an error when it ended without one."""
    history = child.history
    if not history or getattr(history[-1], "type", None) != "model_output":
        raise ToolError(
            f"the sub-agent's run ({child.id}) ended without an answer before this call was "
            "run again; ask it again with a new call"
        )
    return output_text_of(history)


def _what(child: Any, human: bool) -> str:
    """Where the child is: new, cut short by a crash (recover), paused (resume it when a
    human approved the parent's call; else ask one), stopped part-way (continue) or done."""
    if child.needs_recovery:
        return "recover"  # (its calls that may have run pause it again: asked below)
    if child.pending_approvals:
        if not human:
            # The parent's call runs again on its own (it was cut short, or its turn
            # recovered): nobody has seen what the sub-agent waits for. Ask, through it.
            return "ask"
        # A human approved the parent's call, which named the calls the sub-agent waits for
        # (``SubAgentPending``): that approval covers them, in doubt or not.
        from agentloop.loop.engine import RERUN_UNKNOWN

        decisions = child._state.paused.decisions
        for call in child.pending_approvals:  # (a human's approval replaces an automatic one)
            if decisions.get(call.id, (True, RERUN_UNKNOWN))[1] == RERUN_UNKNOWN:
                child.approve(call.id)
        return "paused"
    journal = child._state.journal
    if journal is not None:
        began = journal.version > 0  # a fork's first record holds the fork and its turn
    else:
        began = len(child._state.turn_log) > child._sub_base
    if not began:
        return "new"
    # Its own last turn: finished (the parent's call ran again after a crash), or stopped
    # before it answered (the parent's turn was interrupted): it goes on from there.
    last = child.turns[-1]
    return "done" if last.status == "completed" else "continue"


def _output(result: Turn | str, tool: AgentTool, child: Any) -> Any:
    if isinstance(result, str):
        return result
    doubt = set(child.in_doubt)
    ran = any(r.duration > 0 for r in result.tool_calls) or bool(doubt)
    if result.status == "cancelled":
        # Stopped with its parent's turn: the parent's call stays open (in doubt when the
        # sub-agent's tools ran), and running it again goes on with the sub-agent.
        raise SubAgentPending(
            f"the {tool.agent.name} sub-agent was stopped before it answered"
            + ("; its tools may already have taken effect" if ran else ""),
            tool.agent.name,
            [],
            in_doubt=ran,
        )
    if result.status == "awaiting_approval":
        calls = list(result.pending_approvals)
        raise SubAgentPending(
            f"the {tool.agent.name} sub-agent waits for approval of "
            + ", ".join(f"{c.name} ({c.id}{', in doubt' if c.id in doubt else ''})" for c in calls)
            + ("; its tools may already have taken effect" if ran else ""),
            tool.agent.name,
            calls,
            in_doubt=ran,
        )
    if tool.agent.response_model is not None and result.output is not None:
        return result.output
    return result.output_text
