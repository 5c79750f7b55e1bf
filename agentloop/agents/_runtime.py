"""What an ``Agent`` adds to the conversation it builds: the handoff graph, the agent in
charge, and per-request instructions, tools and model.

The engine knows nothing of agents. An agent conversation gets two small things:

* a ``before_request`` hook (the hooks machinery, so sync and async instruction callables run
  as effects in both drivers) that writes the active agent's instructions, tools, model and
  generation config into each request body;
* with handoffs, a ``before_tool`` hook that refuses (``Deny``) a call of a tool the agent in
  charge was not offered: the registry holds every agent's tools, the model of one agent
  may only run its own;
* ``on_results``: after a batch of tool results, a ``Handoff`` event for each successful
  ``transfer_to_<name>`` call.

The agent in charge is *derived from history* (the last successful transfer result), never
stored on its own: it survives save/load, crash recovery and any journal format, and it
cannot disagree with what the model saw.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConfigurationError, HookError
from agentloop.loop.events import Handoff, LoopEvent
from agentloop.types import FunctionCallStep, FunctionResultStep

if TYPE_CHECKING:
    from agentloop.loop.hooks import ModelRequest, ToolCallRequest
    from agentloop.loop.turn import ToolCall

    from ._agent import Agent

__all__ = ["AgentGraph", "AgentRun", "transfer_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")


def transfer_name(agent_name: str) -> str:
    """The name of the tool that hands the conversation to ``agent_name``."""
    return "transfer_to_" + _UNSAFE.sub("_", agent_name)


def _tool_key(item: Any) -> str | None:
    """A tool item's name (``None`` for toolsets and built-in tool dicts)."""
    from agentloop.tools import Tool

    if isinstance(item, Tool):
        return item.name
    if isinstance(item, dict) or hasattr(item, "model_dump"):
        return None
    if callable(item) and not hasattr(item, "tools"):
        return str(getattr(item, "__name__", None) or "")
    return None


class AgentGraph:
    """The agents reachable from a root through ``handoffs`` (by object or by name), their
    tools, and one ``transfer_to_<name>`` tool per handoff target. Built once per root."""

    def __init__(self, root: Agent) -> None:
        from agentloop.tools import Tool, tool

        from ._agent import Agent

        self.root = root
        self.agents: dict[str, Agent] = {}
        pending: list[Agent] = [root]
        while pending:
            agent = pending.pop()
            known = self.agents.get(agent.name)
            if known is not None:
                if known is not agent:
                    raise ConfigurationError(
                        f"two different agents are called {agent.name!r} in the handoff graph "
                        f"of {root.name!r}; give each agent a unique name"
                    )
                continue
            self.agents[agent.name] = agent
            pending.extend(h for h in agent.handoffs if isinstance(h, Agent))
        # handoff targets by name, checked now: a typo must not wait for the model to call it
        self.targets: dict[str, tuple[str, ...]] = {}
        for agent in self.agents.values():
            names: list[str] = []
            for target in agent.handoffs:
                name = target.name if isinstance(target, Agent) else target
                if name not in self.agents:
                    raise ConfigurationError(
                        f"agent {agent.name!r} hands off to {name!r}, which is not an agent "
                        f"of this graph (known: {', '.join(sorted(self.agents))}); pass the "
                        "Agent object in handoffs=[...] somewhere in the graph"
                    )
                if name == agent.name:
                    raise ConfigurationError(f"agent {name!r} cannot hand off to itself")
                names.append(name)
            self.targets[agent.name] = tuple(dict.fromkeys(names))
        # tools: the union (the registry runs any agent's calls); offered per active agent
        self.transfers: dict[str, str] = {}  # tool name -> target agent name
        transfer_tools: dict[str, Any] = {}
        for name in {t for targets in self.targets.values() for t in targets}:
            target = self.agents[name]
            tool_name = transfer_name(name)
            self.transfers[tool_name] = name
            description = f"Hand the conversation over to the {name} agent" + (
                f": {target.description}" if target.description else "."
            )
            transfer_tools[tool_name] = Tool(
                _transfer_result(name), name=tool_name, description=description, idempotent=True
            )
        self.tools: list[Any] = []
        seen: dict[str, Any] = {}
        self.offered: dict[str, frozenset[str] | None] = {}
        self.builtins: dict[str, list[Any]] = {}
        for agent in self.agents.values():
            names_of_agent: set[str] = set()
            has_toolset = False
            builtins: list[Any] = []
            for item in agent.tools:
                key = _tool_key(item)
                if isinstance(item, (dict,)) or (key is None and hasattr(item, "model_dump")):
                    builtins.append(item)
                    continue
                if key is None:
                    has_toolset = True  # a toolset: its names are only known when it runs
                    if not any(item is t for t in self.tools):
                        self.tools.append(item)
                    continue
                wrapped = item if isinstance(item, Tool) else tool(item)
                known_tool = seen.get(wrapped.name)
                if known_tool is not None:
                    same = (
                        known_tool is item
                        or getattr(known_tool, "function", None)
                        is getattr(wrapped, "function", object())
                        or _same_subagent(known_tool, wrapped)
                    )
                    if not same:
                        raise ConfigurationError(
                            f"two different tools are called {wrapped.name!r} in the agents of "
                            f"{root.name!r}; rename one (@tool(name=...) or as_tool(name=...))"
                        )
                else:
                    seen[wrapped.name] = wrapped
                    self.tools.append(wrapped)
                names_of_agent.add(wrapped.name)
            for target in self.targets[agent.name]:
                names_of_agent.add(transfer_name(target))
            self.offered[agent.name] = None if has_toolset else frozenset(names_of_agent)
            self.builtins[agent.name] = builtins
        for tool_name, transfer_tool in transfer_tools.items():
            if tool_name in seen:
                raise ConfigurationError(
                    f"a tool is called {tool_name!r}, the name of the handoff tool to "
                    f"{self.transfers[tool_name]!r}; rename the tool"
                )
            self.tools.append(transfer_tool)
        # The hook is only needed when requests differ from the conversation's static body.
        self.dynamic = len(self.agents) > 1 or callable(root.instructions)
        self.builtin_union = [b for bs in self.builtins.values() for b in bs]

    def on_results(self, run: AgentRun, records: list[ToolCall]) -> list[LoopEvent]:
        events: list[LoopEvent] = []
        for record in records:
            target = self.transfers.get(record.call.name)
            if target is None or record.is_error:
                continue
            before = run.active_name
            run.active_name, run.scanned = target, -1  # re-read history at the next request
            events.append(Handoff(from_agent=before, to_agent=target, call_id=record.call.id))
        return events


def _same_subagent(a: Any, b: Any) -> bool:
    """Two ``as_tool()`` of one agent with the same context are the same tool."""
    from ._subagent import AgentTool

    return (
        isinstance(a, AgentTool)
        and isinstance(b, AgentTool)
        and a.agent is b.agent
        and a.context == b.context
    )


def _transfer_result(name: str) -> Any:
    def transfer() -> str:
        return f"Transferred to {name}: {name} now leads the conversation."

    transfer.__name__ = transfer_name(name)
    return transfer


class AgentRun:
    """One conversation's view of its agent graph: who is in charge and the turn count."""

    def __init__(self, graph: AgentGraph, conversation: Any, active: str | None = None) -> None:
        self.graph = graph
        self.conversation = conversation
        self.active_name = active or graph.root.name
        self.scanned = -1  # history length read so far (-1: read it all again)
        self._last: object = None  # the last step read: a rewind may leave as many steps
        self._lock = threading.Lock()

    def bound_to(self, conversation: Any) -> AgentRun:
        """This graph run by another conversation (a fork or a replay of this one); the agent
        in charge there is read from its own history."""
        return AgentRun(self.graph, conversation)

    # --- the agent in charge -------------------------------------------------------------------

    @property
    def active(self) -> Agent:
        """The agent in charge: the target of the last successful transfer in history."""
        history = self.conversation._state.history
        with self._lock:
            scanned = self.scanned
            if (
                scanned < 0
                or scanned > len(history)
                or (scanned and history[scanned - 1] is not self._last)
            ):  # (rewound, replaced or forked: the steps read before may be gone)
                self.active_name, self.scanned = self.graph.root.name, 0
            for index in range(self.scanned, len(history)):
                step = history[index]
                if isinstance(step, FunctionResultStep) and not step.is_error:
                    target = self.graph.transfers.get(step.name or "")
                    if target is not None:
                        self.active_name = target
            self.scanned = len(history)
            self._last = history[-1] if history else None
            return self.graph.agents[self.active_name]

    def _asker(self, call_id: str) -> Agent:
        """The agent in charge when the model asked for call ``call_id``: the one in charge
        now, unless a transfer came after the call (a call run later: approved, or in doubt,
        in a batch that also handed off). Its tools are the ones the call may use."""
        agent = self.active
        history = self.conversation._state.history
        transfers = self.graph.transfers
        for index in range(len(history) - 1, -1, -1):
            step = history[index]
            if isinstance(step, FunctionCallStep) and step.id == call_id:
                break
        else:
            return agent  # (not in history: a call being made now)
        if not any(
            isinstance(later, FunctionResultStep) and not later.is_error and later.name in transfers
            for later in history[index + 1 :]
        ):
            return agent
        name = self.graph.root.name
        for step in history[:index]:
            if isinstance(step, FunctionResultStep) and not step.is_error:
                name = transfers.get(step.name or "", name)
        return self.graph.agents[name]

    def on_results(self, records: list[ToolCall]) -> list[LoopEvent]:
        events = self.graph.on_results(self, records)
        if events:
            self.scanned = -1
        return events

    def count_turn(self) -> int:
        """The number of the turn running now (1 for the first): the conversation's turn log
        (time travel), so it survives reload, rewind and output retries."""
        return max(len(self.conversation._state.turn_log), 1)

    # --- the request ---------------------------------------------------------------------------

    def hooks(self, conversation: Any) -> Any:
        from agentloop.loop.hooks import Hooks

        if len(self.graph.agents) > 1:
            return Hooks(before_request=self.before_request, before_tool=self.before_tool)
        return Hooks(before_request=self.before_request) if self.graph.dynamic else None

    def before_tool(self, call: ToolCallRequest) -> Any:
        """Refuse a call of a tool the agent in charge was not offered (another agent's)."""
        from agentloop.loop.hooks import Deny

        agent = self._asker(call.id)
        offered = self.graph.offered[agent.name]
        if offered is None or call.name in offered:
            return None
        return Deny(
            f"the {agent.name} agent has no tool {call.name!r}; its tools are "
            + (", ".join(sorted(offered)) or "none")
        )

    def before_request(self, request: ModelRequest) -> Any:
        from ._agent import RunContext

        agent = self.active
        body = request.body
        conv = self.conversation
        if agent.model is not None and conv.agent is None:
            body["model"] = agent.model
        if len(self.graph.agents) > 1:
            self._tools(agent, body)
            if agent.generation_config is not None:
                from agentloop.loop.settings import jsonable as _jsonable

                body["generation_config"] = _jsonable(agent.generation_config)
            else:
                body.pop("generation_config", None)
        instructions = agent.instructions
        if not callable(instructions):
            _set_instructions(body, instructions)
            return None
        ctx = RunContext(
            deps=conv.deps,
            conversation=conv,
            turn=self.count_turn(),
            usage=conv.usage,
            agent=agent,
        )
        try:
            result = instructions(ctx)
        except Exception as exc:
            raise _instructions_failed(agent, exc) from exc
        if inspect.isawaitable(result):

            async def finish() -> None:
                try:
                    text = await result
                except Exception as exc:
                    raise _instructions_failed(agent, exc) from exc
                _set_instructions(body, _text(text, agent))

            return finish()
        _set_instructions(body, _text(result, agent))
        return None

    def _tools(self, agent: Agent, body: dict[str, Any]) -> None:
        offered = self.graph.offered[agent.name]
        builtin = [_plain(b) for b in self.graph.builtins[agent.name]]
        union_builtins = [_plain(b) for b in self.graph.builtin_union]
        tools = []
        for item in body.get("tools") or []:
            if item.get("type") == "function" or "parameters" in item:
                if offered is None or item.get("name") in offered:
                    tools.append(item)
            elif item in builtin or item not in union_builtins:
                tools.append(item)
        for item in builtin:
            if item not in tools:
                tools.append(item)
        if tools:
            body["tools"] = tools
        else:
            body.pop("tools", None)


def _plain(item: Any) -> Any:
    return item.model_dump(mode="json", exclude_none=True) if hasattr(item, "model_dump") else item


def _set_instructions(body: dict[str, Any], text: str | None) -> None:
    if text:
        body["system_instruction"] = text
    else:
        body.pop("system_instruction", None)


def _instructions_failed(agent: Agent, exc: Exception) -> HookError:
    function = agent.instructions
    name = getattr(function, "__qualname__", None) or repr(function)
    return HookError(
        f"the instructions callable of agent {agent.name!r} ({name}) raised "
        f"{type(exc).__name__}: {exc}. The turn ended and the history stays usable (open calls "
        "were answered with an error result); fix the function, then send again",
        hook="before_request",
    )


def _text(value: Any, agent: Agent) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise HookError(
        f"the instructions callable of agent {agent.name!r} returned "
        f"{type(value).__name__}; it must return a str (or None). The turn ended and the "
        "history stays usable; fix the function, then send again",
        hook="before_request",
    )


def unique_names(items: Iterable[Any], owner: str) -> None:
    """Refuse two tools of one agent with the same name (a sub-agent tool included)."""
    from ._subagent import AgentTool

    seen: dict[str, Any] = {}
    for item in items:
        key = _tool_key(item)
        if not key:
            continue
        other = seen.get(key)
        if other is not None and other is not item:
            kinds = sorted(
                {"a sub-agent" if isinstance(x, AgentTool) else "a tool" for x in (item, other)}
            )
            what = " and ".join(kinds) if len(kinds) > 1 else f"two {kinds[0][2:]}s"
            raise ConfigurationError(
                f"agent {owner!r} has {what} both called {key!r}; give one another name "
                "(as_tool(name=...) or @tool(name=...))"
            )
        seen[key] = item
