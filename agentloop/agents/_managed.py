"""Managed agents as tools: ``ManagedAgent(agent_id)`` in ``tools=[...]``.

A call starts the managed agent as a *background* interaction and waits for it. Managed runs
are long and paid for, so the interaction id is journaled (a note in the parent's journal, under
a key named after the call) *before* waiting: after a crash, recovery runs the call again (the
tool is idempotent for that reason) and it finds the id and waits on the same interaction instead
of starting, and paying for, a new one. Cancelling the parent's turn (async) cancels the
interaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from agentloop.errors import ConfigurationError, ToolError
from agentloop.loop.notes import read_note, write_note
from agentloop.tools import Tool, ToolContext
from agentloop.types import RUNNING_STATUSES, Interaction

__all__ = ["ManagedAgent", "managed_note"]

_TOOL_NAME_CHARS = str.maketrans({c: "_" for c in "/ @"})
# The first poll comes soon (short runs, the emulator); waits grow x1.5 up to 10 s.
_FIRST_POLL = 0.05


def managed_note(call_id: str) -> str:
    """The key of the journal note holding one managed-agent call's interaction id."""
    return f"managed:{call_id}"


class ManagedAgent(Tool[..., Any]):
    """A managed agent (an ``agent`` of the Interactions API, e.g. deep research) as a tool.

    The tool takes one string parameter, ``task``; its result is the agent's final text.
    ``agent_config`` and ``environment`` go into the interaction as given.
    """

    agent_id: str
    agent_config: Any
    environment: Any

    def __init__(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        agent_config: Any = None,
        environment: Any = None,
    ) -> None:
        if not isinstance(agent_id, str) or not agent_id.strip():
            raise ConfigurationError(
                f"ManagedAgent needs the agent's id (a non-empty str), not {agent_id!r}"
            )

        async def run(ctx: ToolContext[Any], task: str) -> str:
            """Run the managed agent.

            Args:
                task: What the agent should do: the whole task, in plain words.
            """
            return await self._run(ctx, task)

        tool_name = name or agent_id.split("/")[-1].translate(_TOOL_NAME_CHARS).replace("-", "_")
        text = (
            description or f"Ask the managed agent {agent_id} to do a task (it may take a while)."
        )
        super().__init__(run, name=tool_name, description=text, idempotent=True)
        self.resumes = True  # the call run again waits on its own interaction
        self.agent_id = agent_id
        self.agent_config = agent_config
        self.environment = environment

    def __repr__(self) -> str:
        return f"ManagedAgent({self.agent_id!r}, name={self.name!r})"

    def _body(self, task: str) -> dict[str, Any]:
        from agentloop.loop.settings import jsonable as _jsonable

        body: dict[str, Any] = {
            "agent": self.agent_id,
            "input": [{"type": "user_input", "content": [{"type": "text", "text": task}]}],
            "background": True,
        }
        if self.agent_config is not None:
            body["agent_config"] = _jsonable(self.agent_config)
        if self.environment is not None:
            body["environment"] = _jsonable(self.environment)
        return body

    async def _run(self, ctx: ToolContext[Any], task: str) -> str:
        from agentloop.loop import AsyncConversation

        parent = ctx.conversation
        if parent is None:
            raise ToolError(f"the managed agent {self.agent_id} runs inside a conversation")
        key = managed_note(ctx.call_id)
        if isinstance(parent, AsyncConversation):
            return _result(await self._arun(parent, key, task))
        try:
            return _result(await asyncio.to_thread(self._run_sync, parent, key, task))
        except asyncio.CancelledError:
            # The parent's turn was stopped (conv.cancel(), Ctrl-C): the thread polling the
            # run cannot be interrupted, but cancelling the run ends its wait, and the bill.
            interaction_id = read_note(parent, key)
            if interaction_id is not None:
                cancel = parent.client.interactions.cancel
                threading.Thread(
                    target=_cancel_quietly, args=(lambda: cancel(interaction_id),), daemon=True
                ).start()
            raise

    def _run_sync(self, parent: Any, key: str, task: str) -> Interaction:
        client = parent.client
        interaction_id = read_note(parent, key)
        if interaction_id is None:
            started: Interaction = client.interactions.create(**self._body(task))
            interaction_id = str(started.id)
            write_note(parent, key, interaction_id)
            if started.status not in RUNNING_STATUSES:
                return started
        try:
            done: Interaction = client.interactions.wait(interaction_id, poll_interval=_FIRST_POLL)
        except KeyboardInterrupt:  # the user stopped the turn: stop the managed run too
            _cancel_quietly(lambda: client.interactions.cancel(interaction_id))
            raise
        return done

    async def _arun(self, parent: Any, key: str, task: str) -> Interaction:
        client = parent.client
        interaction_id = await asyncio.to_thread(read_note, parent, key)
        if interaction_id is None:
            started: Interaction = await client.interactions.create(**self._body(task))
            interaction_id = str(started.id)
            await asyncio.to_thread(write_note, parent, key, interaction_id)
            if started.status not in RUNNING_STATUSES:
                return started
        try:
            done: Interaction = await client.interactions.wait(
                interaction_id, poll_interval=_FIRST_POLL
            )
        except asyncio.CancelledError:
            # The parent's turn was cancelled: stop paying for the managed run too.
            with contextlib.suppress(Exception):  # already finished, or the server is gone
                await asyncio.shield(client.interactions.cancel(interaction_id))
            raise
        return done


def _cancel_quietly(cancel: Any) -> None:
    with contextlib.suppress(Exception):  # already finished, or the server is gone
        cancel()


def _result(interaction: Interaction) -> str:
    status = str(interaction.status)
    if status != "completed":
        detail = "; ".join(str(e.message or e.code) for e in interaction.errors or [])
        raise ToolError(
            f"The managed agent's interaction {interaction.id} ended with status {status!r}"
            + (f": {detail}" if detail else ".")
        )
    return interaction.output_text
