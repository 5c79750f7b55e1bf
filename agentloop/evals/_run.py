"""The task adapter: an ``Agent``, a ``Conversation`` factory or any callable as an eval task.

Each case runs in a fresh conversation. What the case did (its turns: steps, tool calls, model
requests, usage) is recorded as a :class:`CaseRun` in the pydantic-evals task run (the
``agentloop_run`` attribute), which is where the agentloop evaluators read it; ``requests``,
``tool_calls``, ``input_tokens`` and ``output_tokens`` become the case's report metrics.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentloop.errors import EvalError

if TYPE_CHECKING:
    from agentloop.loop import ToolCall, Turn
    from agentloop.types import Usage

__all__ = ["RUN_ATTRIBUTE", "CaseRun", "agent_task", "case_run", "turns_of"]

RUN_ATTRIBUTE = "agentloop_run"
"""The pydantic-evals task attribute that holds a case's :class:`CaseRun`."""


@dataclass
class CaseRun:
    """What one eval case did: the turns of its conversation and the task's output.

    Attributes:
        turns: The ``Turn`` of every message the case sent, in order.
        output: What the task returned (the last turn's ``output`` for agents).
    """

    turns: list[Turn] = field(default_factory=list)
    output: Any = None

    @property
    def steps(self) -> list[Any]:
        """Every new history step of the case's turns, in order."""
        return [step for turn in self.turns for step in turn.steps]

    @property
    def tool_calls(self) -> list[ToolCall]:
        """Every function call the model made and how it ended, in order (the calls that
        wait for approval have not ended: ``pending``)."""
        return [call for turn in self.turns for call in turn.tool_calls]

    @property
    def pending(self) -> list[Any]:
        """The calls the last turn waits on (``status`` ``"awaiting_approval"``): asked for by
        the model, not run (steps with ``name`` and ``arguments``)."""
        last = self.turns[-1] if self.turns else None
        return list(last.pending_approvals) if last is not None else []

    @property
    def asked(self) -> list[Any]:
        """Every call the model asked for, in order: ``tool_calls`` then ``pending``. What
        the call evaluators (``ToolCalled``, ``ToolTrajectory``) look at."""
        return [*self.tool_calls, *self.pending]

    @property
    def status(self) -> str:
        """How the last turn ended: ``"completed"``, or ``"awaiting_approval"`` (it waits for
        a human), ...; a report shows any other than ``"completed"`` (``turn_status``)."""
        return self.turns[-1].status if self.turns else "completed"

    @property
    def requests(self) -> int:
        """How many model requests (interactions) the case made."""
        return sum(turn.model_requests for turn in self.turns)

    @property
    def usage(self) -> Usage:
        """Token usage summed over the case's model requests."""
        from agentloop.types import Usage

        total = Usage()
        for turn in self.turns:
            total = total + turn.usage
        return total

    @property
    def total_tokens(self) -> int:
        """All tokens of the case (``usage.total_tokens``, else input + output)."""
        usage = self.usage
        if usage.total_tokens is not None:
            return usage.total_tokens
        return (usage.total_input_tokens or 0) + (usage.total_output_tokens or 0)

    @property
    def output_text(self) -> str:
        """The output as text: the last turn's text, else ``str(output)``."""
        if self.turns and self.turns[-1].output_text:
            return self.turns[-1].output_text
        output = self.output
        if output is None:
            return ""
        if isinstance(output, str):
            return output
        dump = getattr(output, "model_dump_json", None)
        return str(dump()) if callable(dump) else str(output)


def turns_of(value: Any) -> list[Turn] | None:
    """The turns in what a task returned (a ``Turn`` or a list of them), else ``None``."""
    from agentloop.loop import Turn

    if isinstance(value, Turn):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(t, Turn) for t in value):
        return list(value)
    return None


def case_run(ctx: Any) -> CaseRun | None:
    """The :class:`CaseRun` of an evaluator context: recorded by :func:`agent_task`, or the
    ``Turn`` (or turns) a plain task returned; ``None`` when the task gave neither."""
    run = getattr(ctx, "attributes", {}).get(RUN_ATTRIBUTE)
    if isinstance(run, CaseRun):
        return run
    turns = turns_of(getattr(ctx, "output", None))
    if turns is not None:
        return CaseRun(turns, turns[-1].output)
    return None


def messages_of(inputs: Any) -> list[Any]:
    """The messages a case sends: ``{"turns": [...]}`` sends each in turn, else one message."""
    if isinstance(inputs, dict) and set(inputs) == {"turns"}:
        turns = inputs["turns"]
        if not isinstance(turns, list) or not turns:
            raise EvalError("a case's inputs {'turns': [...]} needs a non-empty list of messages")
        return turns
    return [inputs]


def _required_positional(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(
        1
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        and p.default is p.empty
        and p.name != "client"
    )


def _takes_client(fn: Callable[..., Any]) -> bool:
    try:
        return "client" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _converse(conv: Any, messages: list[Any]) -> list[Turn]:
    """Send ``messages`` in order on a fresh conversation (sync ones run in a thread)."""
    from agentloop.loop import AsyncConversation, Conversation

    if isinstance(conv, AsyncConversation):
        async with conv:
            return [await conv.send(m) for m in messages]
    if isinstance(conv, Conversation):
        import anyio.to_thread

        def run() -> list[Turn]:
            with conv:
                return [conv.send(m) for m in messages]

        return await anyio.to_thread.run_sync(run)
    raise EvalError(
        f"a conversation factory returned {type(conv).__name__}, not a Conversation or "
        "AsyncConversation"
    )


def agent_task(
    target: Any, *, client: Any = None, name: str | None = None
) -> Callable[[Any], Awaitable[Any]]:
    """An eval task (for ``Dataset.evaluate``) that runs ``target`` on a case's inputs.

    ``target`` is one of:

    - an ``agentloop.Agent``: each case runs in a fresh conversation on ``client`` (an
      ``AsyncClient`` or a ``Client``; default ``AsyncClient()`` from ``GEMINI_API_KEY``);
    - a conversation factory: a callable with no required argument returning a fresh
      ``Conversation`` or ``AsyncConversation`` (given ``client=`` when it has that parameter);
    - any callable taking the case's inputs (sync or async; given ``client=`` when it has that
      parameter): when it returns a ``Turn`` (or a list of them) the evaluators see its history,
      else only its output.

    Inputs of the form ``{"turns": [m1, m2, ...]}`` send each message in turn on the same
    conversation; anything else is sent as one message. The task returns the last turn's
    ``output`` (the parsed ``response_model`` when the agent has one, else the text).
    """
    from agentloop.agents import Agent

    if not callable(target) and not isinstance(target, Agent):
        raise EvalError(
            f"cannot evaluate {type(target).__name__}: pass an agentloop.Agent, a function "
            "returning a Conversation, or a function of the case's inputs"
        )
    label = name or getattr(target, "name", None) or getattr(target, "__name__", "task")
    if isinstance(target, Agent) and client is None:
        from agentloop.client import AsyncClient

        client = AsyncClient()  # one for every case, from GEMINI_API_KEY

    async def start(inputs: Any) -> tuple[list[Turn] | None, Any]:
        messages = messages_of(inputs)
        if isinstance(target, Agent):
            from agentloop.client import Client

            if isinstance(client, Client):
                conv: Any = target.conversation(client)
            else:
                conv = target.aconversation(client)
            turns = await _converse(conv, messages)
            return turns, turns[-1].output
        extra = {"client": client} if _takes_client(target) else {}
        if _required_positional(target) == 0:
            conv = await _maybe_await(target(**extra))
            turns = await _converse(conv, messages)
            return turns, turns[-1].output
        if len(messages) != 1:
            raise EvalError("inputs {'turns': [...]} need an Agent or a conversation factory")
        if inspect.iscoroutinefunction(target):
            result = await target(messages[0], **extra)
        else:
            import anyio.to_thread

            result = await _maybe_await(
                await anyio.to_thread.run_sync(lambda: target(messages[0], **extra))
            )
        found = turns_of(result)
        return (found, found[-1].output) if found else (None, result)

    async def task(inputs: Any) -> Any:
        from pydantic_evals import increment_eval_metric, set_eval_attribute

        turns, output = await start(inputs)
        if turns is None:
            return output
        run = CaseRun(turns, output)
        set_eval_attribute(RUN_ATTRIBUTE, run)
        usage = run.usage
        increment_eval_metric("requests", run.requests)
        increment_eval_metric("tool_calls", len(run.tool_calls))
        if run.status != "completed":  # (waiting for approval: shown, for the evaluators)
            set_eval_attribute("turn_status", run.status)
        increment_eval_metric("input_tokens", usage.total_input_tokens or 0)
        increment_eval_metric("output_tokens", usage.total_output_tokens or 0)
        return output

    task.__name__ = str(label)
    task.__qualname__ = str(label)
    return task
