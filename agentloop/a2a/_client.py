"""``A2AAgent``: a remote A2A agent as a tool, on the a2a-sdk's client.

The tool has one string parameter, ``task``. A call sends it as a user message (streaming
when the remote agent can), reports progress as ``RemoteProgress`` events, and returns the
remote output text as the tool result. Per calling conversation it keeps (in the
conversation's journal, see ``agentloop.loop.notes``):

- the remote context id, so follow-up calls continue the same remote conversation, and the
  id of a remote task left in ``input-required``, so the next call answers it;
- the remote task id of each call, written as soon as the remote side names it and before
  waiting, so that recovery after a crash re-attaches to the task instead of sending it again
  (which is why the tool is declared idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from a2a.client import A2ACardResolver, A2AClientError, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import get_data_parts, get_text_parts, new_text_part
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskNotFoundError,
    TaskState,
    UnsupportedOperationError,
)
from a2a.utils.errors import A2AError

from agentloop.client._base import tls_context
from agentloop.errors import ConfigurationError, ToolError
from agentloop.loop.events import LoopEvent
from agentloop.loop.notes import read_note, write_note
from agentloop.tools import Tool, ToolContext

if TYPE_CHECKING:
    from a2a.client import Client as A2AClient

__all__ = ["A2AAgent", "RemoteProgress"]

logger = logging.getLogger("agentloop.a2a")

_FINAL = {
    TaskState.TASK_STATE_COMPLETED,
    TaskState.TASK_STATE_FAILED,
    TaskState.TASK_STATE_CANCELED,
    TaskState.TASK_STATE_REJECTED,
}
_WAITING = {TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED}
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.:\-]+")


@dataclass(slots=True)
class RemoteProgress(LoopEvent):
    """Progress of a remote A2A task, as ``A2AAgent`` streams it.

    Attributes:
        agent: The tool name of the remote agent.
        call_id: The id of the function call being served.
        task_id: The remote task id.
        state: The remote task state (``"working"``, ``"input-required"``, ``"completed"``…).
        text: The text of the status message or artifact chunk (may be empty).
    """

    type: ClassVar[str] = "remote_progress"
    agent: str
    call_id: str
    task_id: str
    state: str
    text: str = ""


def _state_name(state: int) -> str:
    name: str = TaskState.Name(state)
    return name.removeprefix("TASK_STATE_").lower().replace("_", "-")


def _text(parts: Sequence[Any]) -> str:
    return "".join(get_text_parts(parts))


class _Outcome:
    """What the events of one remote task said so far."""

    def __init__(self) -> None:
        self.task_id: str | None = None
        self.context_id: str | None = None
        self.state: int = TaskState.TASK_STATE_UNSPECIFIED
        self.status_text = ""
        self.output: dict[str, list[Any]] = {}  # artifact id -> parts
        self.message_text: str | None = None  # a Message-only reply

    def task(self, task: Task) -> None:
        self.task_id, self.context_id = task.id, task.context_id
        self.state = task.status.state
        self.status_text = _text(task.status.message.parts)
        self.output = {a.artifact_id: list(a.parts) for a in task.artifacts}

    def absorb(self, event: StreamResponse) -> str:
        """Take one event in; returns its text (for progress)."""
        if event.HasField("task"):
            self.task(event.task)
            return self.status_text
        if event.HasField("status_update"):
            update = event.status_update
            self.task_id, self.context_id = update.task_id, update.context_id
            self.state = update.status.state
            self.status_text = _text(update.status.message.parts)
            return self.status_text
        if event.HasField("artifact_update"):
            update = event.artifact_update
            self.task_id, self.context_id = update.task_id, update.context_id
            parts = list(update.artifact.parts)
            if update.append:
                self.output.setdefault(update.artifact.artifact_id, []).extend(parts)
            else:
                self.output[update.artifact.artifact_id] = parts
            return _text(parts)
        if event.HasField("message"):
            self.message_text = _text(event.message.parts)
            self.context_id = event.message.context_id or self.context_id
            self.state = TaskState.TASK_STATE_COMPLETED
            return self.message_text
        return ""

    def result(self) -> str:
        if self.message_text is not None:
            return self.message_text
        texts = [_text(parts) for parts in self.output.values()]
        text = "\n".join(t for t in texts if t)
        if text:
            return text
        data = [d for parts in self.output.values() for d in get_data_parts(parts)]
        import json

        return json.dumps(data[0] if len(data) == 1 else data) if data else ""


_REFUSED = re.compile(r"HTTP Error (401|403)\b|'(401|403) (?:Unauthorized|Forbidden)'")
"""An authentication refusal in an A2A client error's text (the SDK keeps only its text)."""


class A2AAgent:
    """A remote A2A agent, usable in ``tools=[...]`` like a sub-agent.

    The model sees one tool named after the agent (its card's name unless ``name`` is given)
    with one string parameter, ``task``.

    Args:
        url: The agent's base URL (its card is at ``URL/.well-known/agent-card.json``).
        name: The tool name (default: the card's name, made a valid function name).
        description: The tool description (default: the card's description and skills).
        headers: HTTP headers of every request (e.g. ``{"Authorization": "Bearer ..."}``);
            never logged or shown in ``repr``.
        on_event: Called with each ``RemoteProgress`` of a call (from the tool's task).
        httpx_client: The ``httpx.AsyncClient`` to reach the agent with (e.g. an in-process
            ``httpx.ASGITransport``; ``headers`` are set on it); default: one per call.
        timeout: Seconds a call may take (None: no limit), as ``@tool(timeout=)``: a call
            over it is an error result for the model, and the remote task is cancelled.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        description: str | None = None,
        headers: Mapping[str, str] | None = None,
        on_event: Callable[[RemoteProgress], None] | None = None,
        httpx_client: httpx.AsyncClient | None = None,
        timeout: float | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"A2AAgent needs the agent's http(s) base URL, not {url!r}: "
                "A2AAgent('http://127.0.0.1:8000')"
            )
        self.url = url.rstrip("/")
        self._name = name
        self._description = description
        self._headers = dict(headers or {})
        self.on_event = on_event
        self._http = httpx_client
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ConfigurationError(
                f"A2AAgent(timeout=...) is a positive number of seconds or None, not {timeout!r}"
            )
        self.timeout = timeout
        self._card: AgentCard | None = None
        self._tool: Tool[..., Any] | None = None

    def __repr__(self) -> str:
        return f"A2AAgent({self.url!r}, name={self._name!r})"

    # --- the Toolset protocol -----------------------------------------------------------------

    def tools(self) -> list[Tool[..., Any]]:
        """The one tool (built on first use; fetches the card when name or description is
        missing)."""
        if self._tool is None:
            name, description = self._name, self._description
            if name is None or description is None:
                card = self._card_now()
                name = name or _NAME_CHARS.sub("_", card.name).strip("_")[:64] or "remote_agent"
                description = description or _describe(card)

            async def call(task: str, ctx: ToolContext[Any]) -> str:
                return await self._call(task, ctx)

            call.__doc__ = f"{description}\n\nArgs:\n    task: What to ask the agent, in full."
            self._tool = Tool(
                call, name=name, description=description, idempotent=True, timeout=self.timeout
            )
            self._tool.resumes = True  # the call run again goes on with its own remote task
        return [self._tool]

    def close(self) -> None:
        """Nothing to release: each call opens and closes its own connections."""

    @property
    def name(self) -> str:
        """The tool name the model sees."""
        return self.tools()[0].name

    # --- the card -----------------------------------------------------------------------------

    def _card_now(self) -> AgentCard:
        """The card, fetched without an event loop (tools() is synchronous)."""
        from a2a.client.card_resolver import parse_agent_card
        from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH

        if self._card is None:
            try:
                response = httpx.get(
                    self.url + AGENT_CARD_WELL_KNOWN_PATH,
                    headers=self._headers,
                    timeout=30,
                    verify=tls_context(),
                )
                response.raise_for_status()
                self._card = parse_agent_card(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                raise ConfigurationError(
                    f"could not read the agent card of {self.url}: {type(exc).__name__}: {exc}; "
                    "check the URL, or pass name= and description= to skip the card"
                ) from None
        return self._card

    async def _card_async(self, http: httpx.AsyncClient) -> AgentCard:
        if self._card is None:
            self._card = await A2ACardResolver(http, self.url).get_agent_card()
        return self._card

    # --- one call -----------------------------------------------------------------------------

    async def _call(self, task: str, ctx: ToolContext[Any]) -> str:
        key = f"a2a:{self.url}"
        call_key = f"{key}:call:{ctx.call_id}"
        known = await _io(read_note, ctx.conversation, call_key)
        remote = await _io(read_note, ctx.conversation, f"{key}:context") or {}
        # The shared TLS context: a new one loads the CA bundle again (~20 ms of CPU a call).
        http = self._http or httpx.AsyncClient(
            headers=self._headers, timeout=None, verify=tls_context()
        )
        if self._http is not None:
            http.headers.update(self._headers)
        try:
            client = ClientFactory(ClientConfig(httpx_client=http)).create(
                await self._card_async(http)
            )
            outcome = _Outcome()
            try:
                if known:
                    await self._reattach(client, known, outcome, ctx)
                else:
                    await self._send(client, task, remote, outcome, ctx, call_key)
            except asyncio.CancelledError:
                # The caller's turn was cancelled (not a crash): stop the remote task too.
                if outcome.task_id and outcome.state not in _FINAL:
                    cancel = client.cancel_task(CancelTaskRequest(id=outcome.task_id))
                    with contextlib.suppress(Exception):
                        await asyncio.shield(cancel)
                raise
        except (A2AClientError, httpx.HTTPError) as exc:
            refused = _REFUSED.search(str(exc))
            if refused is not None:  # it was reached: it refused who we are
                raise ToolError(
                    f"the remote agent {self.url} refused the request (HTTP "
                    f"{refused.group(1) or refused.group(2)}): it needs a token; pass it as "
                    "A2AAgent(url, headers={'Authorization': 'Bearer TOKEN'})"
                ) from None
            raise ToolError(
                f"the remote agent {self.url} could not be reached: {type(exc).__name__}: {exc}"
            ) from None
        except A2AError as exc:
            raise ToolError(f"the remote agent {self.url} refused the task: {exc}") from None
        finally:
            if self._http is None:
                await http.aclose()
        if outcome.context_id:
            open_task = outcome.task_id if outcome.state in _WAITING else None
            note = {"context_id": outcome.context_id, "task_id": open_task}
            if note != remote:
                await _io(write_note, ctx.conversation, f"{key}:context", note)
        return self._result(outcome)

    async def _send(
        self,
        client: A2AClient,
        task: str,
        remote: dict[str, Any],
        outcome: _Outcome,
        ctx: ToolContext[Any],
        call_key: str,
    ) -> None:
        message = Message(
            role=Role.ROLE_USER,
            message_id=str(uuid.uuid4()),
            parts=[new_text_part(task)],
            context_id=remote.get("context_id") or "",
            task_id=remote.get("task_id") or "",
        )
        try:
            await self._follow(
                client.send_message(SendMessageRequest(message=message)), outcome, ctx, call_key
            )
        except (TaskNotFoundError, UnsupportedOperationError):
            if not message.task_id or outcome.task_id:
                raise
            # The task that asked for input is gone (a remote restart) or ended meanwhile
            # (cancelled): the answer goes to its context instead.
            message.task_id = ""
            await self._follow(
                client.send_message(SendMessageRequest(message=message)), outcome, ctx, call_key
            )
        if outcome.task_id and outcome.state not in _FINAL | _WAITING:
            # The stream ended early (a proxy, a restart): read where the task is.
            await self._reattach(client, outcome.task_id, outcome, ctx)

    async def _follow(
        self, stream: Any, outcome: _Outcome, ctx: ToolContext[Any], call_key: str | None
    ) -> None:
        async for event in stream:
            text = outcome.absorb(event)
            if call_key is not None and outcome.task_id:
                # Journaled before waiting any longer: recovery re-attaches to this task.
                await _io(write_note, ctx.conversation, call_key, outcome.task_id)
                call_key = None
            if outcome.task_id:
                self._emit(ctx, outcome, text)

    async def _reattach(
        self, client: A2AClient, task_id: str, outcome: _Outcome, ctx: ToolContext[Any]
    ) -> None:
        try:
            task = await client.get_task(GetTaskRequest(id=task_id))
        except TaskNotFoundError:
            raise ToolError(
                f"the remote agent {self.url} no longer knows task {task_id} that this call "
                "started before a crash; it was not sent again (it may have run)"
            ) from None
        outcome.task(task)
        if task.status.state not in _FINAL | _WAITING:
            logger.info("re-attaching to remote task %s of %s", task_id, self.url)
            await self._follow(
                client.subscribe(SubscribeToTaskRequest(id=task_id)), outcome, ctx, None
            )

    def _emit(self, ctx: ToolContext[Any], outcome: _Outcome, text: str) -> None:
        assert outcome.task_id is not None
        event = RemoteProgress(
            agent=self.name,
            call_id=ctx.call_id,
            task_id=outcome.task_id,
            state=_state_name(outcome.state),
            text=text,
        )
        logger.debug("remote task %s: %s", event.task_id, event.state)
        if self.on_event is not None:
            self.on_event(event)

    def _result(self, outcome: _Outcome) -> str:
        state = outcome.state
        if state == TaskState.TASK_STATE_COMPLETED:
            return outcome.result()
        if state in _WAITING:
            asked = outcome.status_text or "it needs more input"
            return (
                f"The remote agent {self.name} is waiting for input: {asked} "
                f"Call {self.name} again with the answer."
            )
        why = f": {outcome.status_text}" if outcome.status_text else ""
        if state in _FINAL:
            raise ToolError(
                f"the remote agent {self.name} ended the task {_state_name(state)}{why}"
            )
        raise ToolError(
            f"the remote agent {self.name} stopped answering before the task ended (last state: "
            f"{_state_name(state)}){why}"
        )


async def _io(note: Callable[..., Any], conv: Any, *args: Any) -> Any:
    """A journal note read or written off the event loop when it touches a store."""
    if conv is None or getattr(conv, "store", None) is None:
        return note(conv, *args)
    return await asyncio.to_thread(note, conv, *args)


def _describe(card: AgentCard) -> str:
    text = card.description or f"The remote agent {card.name}."
    skills = "; ".join(f"{s.name}: {s.description}" for s in card.skills if s.description)
    return f"{text} Skills: {skills}" if skills else text
