"""Serving an ``Agent`` over A2A: the a2a-sdk's JSON-RPC app with an agentloop executor.

The a2a-sdk owns the protocol (JSON-RPC dispatch, SSE, task store, errors); this module only
turns A2A requests into turns of journaled conversations:

- the A2A context id is the conversation id in the store, so a context goes on after a
  restart (the conversation is loaded from its journal); a task is journaled in its context
  when it settles, and its id starts with the context id, so it is found after a restart;
- a turn paused for approval puts the task in ``input-required``; the next message of the
  context (same task or a new one) carries the decision and the turn resumes;
- cancel stops the turn; the conversation stays sendable (its open calls are answered as
  interrupted by the next turn);
- the final output is the task's ``response`` artifact: a text part, plus a data part with
  the structured output when the agent has a ``response_model``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from a2a.helpers.proto_helpers import (
    new_data_part,
    new_task_from_user_message,
    new_text_part,
)
from a2a.server.agent_execution import (
    AgentExecutor,
    RequestContext,
    SimpleRequestContextBuilder,
)
from a2a.server.context import ServerCallContext
from a2a.server.events import EventQueue
from a2a.server.id_generator import IDGenerator, IDGeneratorContext
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.routes import DefaultServerCallContextBuilder, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCard,
    InvalidParamsError,
    Message,
    Part,
    Task,
    TaskState,
)
from a2a.utils.constants import (
    AGENT_CARD_WELL_KNOWN_PATH,
)
from google.protobuf.json_format import MessageToDict, ParseDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agentloop._guard import check_token, failure_message, refusal
from agentloop.loop.notes import read_note, stored_notes, write_note

from ._card import agent_card
from ._messages import check_message, decisions_of, message_input, pending_approvals

if TYPE_CHECKING:
    from agentloop.agents import Agent
    from agentloop.client import AsyncClient
    from agentloop.loop import AsyncConversation
    from agentloop.stores import ConversationStore

__all__ = ["RPC_PATH", "create_app"]

logger = logging.getLogger("agentloop.a2a")

RPC_PATH = "/"
"""Where the JSON-RPC endpoint is mounted (the card's interface URL is the app's root)."""

ARTIFACT_ID = "response"
OWNER_NOTE = "a2a.agent"  # journaled first in a context: the agent that serves it
TASK_NOTE = "a2a.task."  # + the task id: the task as it last settled
WITHDRAWN_NOTE = "a2a.withdrawn"  # calls whose waiting task the client cancelled
_SEP = "~"  # between the context id and the rest of a task id
_SETTLED = {
    TaskState.TASK_STATE_COMPLETED,
    TaskState.TASK_STATE_FAILED,
    TaskState.TASK_STATE_CANCELED,
    TaskState.TASK_STATE_REJECTED,
    TaskState.TASK_STATE_INPUT_REQUIRED,
}
MAX_LIVE = 256  # conversations kept in memory between the turns of their contexts
MAX_BODY = 4_000_000  # bytes of a request body (a message, its data parts)


# --- the request handler ---------------------------------------------------------------


class _Handler(DefaultRequestHandler):
    """The SDK's request handler, with messages checked before a task is made of them."""

    executor: _Executor

    async def _check(self, message: Message) -> None:
        check_message(message)
        if message.context_id and not await self.executor.owns(message.context_id):
            raise InvalidParamsError(
                message=f"context {message.context_id} is a conversation of the store that this "
                "agent did not start over A2A; leave contextId out to start a new context"
            )
        if not message.context_id and not message.task_id:
            # Named here, so that the new task's id can start with it (see _TaskIds).
            message.context_id = str(uuid.uuid4())

    async def on_message_send(self, params: Any, context: Any) -> Any:
        await self._check(params.message)
        return await super().on_message_send(params, context)

    async def on_message_send_stream(self, params: Any, context: Any) -> Any:
        await self._check(params.message)
        async for event in super().on_message_send_stream(params, context):
            yield event


class _TaskIds(IDGenerator):
    """Task ids that start with their context id, so that a restarted server finds a task's
    record in its context's journal."""

    def generate(self, context: IDGeneratorContext) -> str:
        if not context.context_id:
            return str(uuid.uuid4())
        return f"{context.context_id}{_SEP}{uuid.uuid4().hex}"


class _Tasks(InMemoryTaskStore):
    """The SDK's in-memory task store; a task is also journaled in its context each time it
    settles (terminal, or waiting for input), and read back from there after a restart."""

    def __init__(self, executor: _Executor) -> None:
        super().__init__()
        self.executor = executor

    async def save(self, task: Task, context: ServerCallContext) -> None:
        await super().save(task, context)
        if task.status.state in _SETTLED:
            conv = self.executor.live.get(task.context_id)  # the writer of that journal
            if conv is not None:
                from agentloop.errors import AgentloopError

                try:
                    write_note(conv, TASK_NOTE + task.id, MessageToDict(task))
                except AgentloopError as exc:  # the task stands; only its record after a restart
                    logger.warning("task %s not journaled: %s", task.id, exc)

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        task = await super().get(task_id, context)
        if task is not None or _SEP not in task_id:
            return task
        context_id = task_id.rsplit(_SEP, 1)[0]
        executor = self.executor
        if (
            not context_id.strip()
            or executor.store.version(context_id) == 0
            or not await executor.owns(context_id)
        ):
            return None
        conv = await executor.conversation(context_id)
        data = await asyncio.to_thread(read_note, conv, TASK_NOTE + task_id)
        if data is None:
            return None
        found: Task = ParseDict(data, Task())
        await super().save(found, context)
        return found


# --- the executor ----------------------------------------------------------------------------


class _Executor(AgentExecutor):
    """Runs one turn of the context's conversation per A2A request."""

    def __init__(self, agent: Agent, client: AsyncClient, store: ConversationStore) -> None:
        self.agent = agent
        self.client = client
        self.store = store
        # The conversations of recent contexts, most recent last; the others are loaded from
        # the store again when their context speaks (a dropped one releases its tool threads).
        self.live: OrderedDict[str, AsyncConversation] = OrderedDict()
        self.loading = asyncio.Lock()

    async def owns(self, context_id: str) -> bool:
        """Whether ``context_id`` is new or a context this agent started (the store may hold
        other conversations, e.g. chat sessions: an A2A client must not reach those)."""
        if context_id in self.live:
            return True
        owned: bool = await asyncio.to_thread(self._owns, context_id)
        return owned

    def _owns(self, context_id: str) -> bool:
        if self.store.version(context_id) == 0:
            return True
        return bool(stored_notes(self.store, context_id).get(OWNER_NOTE) == self.agent.name)

    async def conversation(self, context_id: str) -> AsyncConversation:
        """The live conversation of a context: loaded from the store (off the event loop, one
        load at a time, so that a context never has two writers), or new."""
        conv = self.live.get(context_id)
        if conv is None:
            async with self.loading:
                conv = self.live.get(context_id)
                if conv is None:
                    conv = await asyncio.to_thread(self._open, context_id)
                    self.live[context_id] = conv
                    idle = [k for k, c in self.live.items() if not c.running and k != context_id]
                    for key in idle[: max(0, len(self.live) - MAX_LIVE)]:
                        del self.live[key]
        self.live.move_to_end(context_id)
        return conv

    def _open(self, context_id: str) -> AsyncConversation:
        conv = self.agent.aconversation(self.client, store=self.store, id=context_id)
        if self.store.version(context_id) == 0:
            write_note(conv, OWNER_NOTE, self.agent.name)  # the context's first record
        return conv

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        message = context.message
        task_id, context_id = context.task_id, context.context_id
        assert message is not None and task_id is not None and context_id is not None
        updater = TaskUpdater(event_queue, task_id, context_id)
        if context.current_task is None:
            await event_queue.enqueue_event(new_task_from_user_message(message))
        conv = await self.conversation(context_id)
        if conv.running:
            await updater.failed(
                updater.new_agent_message(
                    [new_text_part(f"context {context_id} is running another task; retry later")]
                )
            )
            return
        task = context.current_task
        asked = task is not None and task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        # A streaming client (SendStreamingMessage) gets the turn's progress and text chunks
        # as they come; the others get the whole output once, and the model is not streamed.
        streaming = context.call_context.state.get("method") != "SendMessage"
        await self._turn(conv, message, updater, asked, streaming)

    async def _turn(
        self,
        conv: AsyncConversation,
        message: Message,
        updater: TaskUpdater,
        asked: bool,
        streaming: bool,
    ) -> None:
        """One turn: the decision on a paused turn, or a new input.

        A reply to the task in ``input-required`` must be a decision (else the task keeps
        waiting). A new task of a context whose turn waits for approval is a decision when it
        reads as one (a client that lost the task, e.g. after a restart), else a new input:
        the engine answers the waiting calls as not approved and starts a new turn. A
        streaming request gets progress (tool calls) and the text in chunks, as they come."""
        from agentloop.loop.events import (
            TextDelta,
            ToolCallFinished,
            ToolCallStarted,
            TurnCompleted,
        )

        text = message_input(message)

        pending = [call.id for call in conv.pending_approvals]
        if pending and not asked:
            withdrawn = await asyncio.to_thread(read_note, conv, WITHDRAWN_NOTE, [])
            if set(pending) <= set(withdrawn):
                pending = []  # its task was cancelled: a new input, which answers them
        decisions = decisions_of(message, pending, reply=asked) if pending else None
        if asked and pending and decisions is None:
            await updater.requires_input(
                self._ask(updater, conv, "answer 'approve' or 'reject <reason>' first")
            )
            return
        if decisions is not None:
            for call_id, (approve, reason) in decisions.items():
                if approve:
                    conv.approve(call_id)
                else:
                    conv.reject(call_id, reason)
        await updater.start_work()
        try:
            if not streaming:  # the whole output once: no model stream, no chunk events
                turn = await (conv.resume() if decisions is not None else conv.send(text))
                await self._finish(conv, turn, updater)
                return
            events = conv.resume_stream() if decisions is not None else conv.stream(text)
            streamed = False
            async for event in events:
                if isinstance(event, TextDelta) and event.text:
                    await updater.add_artifact(
                        [new_text_part(event.text)],
                        artifact_id=ARTIFACT_ID,
                        name=ARTIFACT_ID,
                        append=streamed,
                        last_chunk=False,
                    )
                    streamed = True
                elif isinstance(event, (ToolCallStarted, ToolCallFinished)):
                    await updater.start_work(self._progress(updater, event))
                elif isinstance(event, TurnCompleted):
                    await self._finish(conv, event.turn, updater)
        # SystemExit, KeyboardInterrupt: raised by a tool's code (uvicorn takes the signals),
        # they end this turn, not the server.
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            await updater.failed(
                updater.new_agent_message([new_text_part(self._failed(conv, exc))])
            )

    def _failed(self, conv: AsyncConversation, exc: BaseException) -> str:
        """What the client is told of a failed turn (logged in full): the server's own
        failures and internals (store paths, what a hook raised) stay in its log."""
        from agentloop.errors import ConflictError, TurnInProgressError

        if isinstance(exc, (ConflictError, TurnInProgressError)):
            # Another writer (a CLI session on the same store) changed this context, or runs a
            # turn of it: nothing of this turn was written. The next message reloads it.
            if self.live.get(conv.id) is conv:
                del self.live[conv.id]
            logger.warning("context %s: %s: %s", conv.id, type(exc).__name__, exc)
            return "another writer changed this context meanwhile; send the message again"
        message = failure_message(exc, logger, f"turn of context {conv.id}")
        return str(exc) if message is None else message

    def _progress(self, updater: TaskUpdater, event: Any) -> Message:
        call = event.call
        if event.type == "tool_call_started":
            text, data = f"calling {call.name}", {"event": event.type}
        else:
            state = "failed" if event.is_error else "done"
            text, data = f"{call.name} {state}", {"event": event.type, "is_error": event.is_error}
        data.update(call_id=call.id, name=call.name)
        return updater.new_agent_message([new_text_part(text)], metadata={"agentloop": data})

    def _ask(self, updater: TaskUpdater, conv: AsyncConversation, text: str) -> Message:
        pending = pending_approvals(conv)
        return updater.new_agent_message(
            [new_text_part(text), new_data_part({"pending_approvals": pending})]
        )

    async def _finish(self, conv: AsyncConversation, turn: Any, updater: TaskUpdater) -> None:
        status = turn.status
        if status == "completed":
            parts: list[Part] = [new_text_part(turn.output_text)]
            output = turn.output
            if self.agent.response_model is not None and output is not None:
                dump = getattr(output, "model_dump", None)
                parts.append(new_data_part(dump(mode="json") if dump else output))
            await updater.add_artifact(
                parts, artifact_id=ARTIFACT_ID, name=ARTIFACT_ID, append=False, last_chunk=True
            )
            await updater.complete()
        elif status == "awaiting_approval":
            names = ", ".join(c.name for c in conv.pending_approvals)
            await updater.requires_input(
                self._ask(
                    updater,
                    conv,
                    f"approval needed to run {names}: answer 'approve' or 'reject <reason>'",
                )
            )
        elif status == "cancelled":
            await updater.cancel()
        else:
            why = f": {turn.error}" if turn.error else ""
            await updater.failed(
                updater.new_agent_message([new_text_part(f"the turn ended {status}{why}")])
            )

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        # The SDK cancels execute() right after this; record the state first so that a
        # streaming client sees it. The conversation answers its open calls as interrupted
        # at its next turn.
        assert context.task_id is not None and context.context_id is not None
        updater = TaskUpdater(event_queue, context.task_id, context.context_id)
        task = context.current_task
        conv = self.live.get(context.context_id)
        if (
            task is not None
            and task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
            and conv is not None
            and conv.pending_approvals
            and not conv.running
        ):
            # The client withdrew the calls it was asked about: no later message decides them
            # (the next turn answers them as not approved). Journaled: a restart keeps it.
            ids = [call.id for call in conv.pending_approvals]
            await asyncio.to_thread(write_note, conv, WITHDRAWN_NOTE, ids)
        await updater.cancel()


# --- the app ---------------------------------------------------------------------------------


class _CallContexts(DefaultServerCallContextBuilder):
    """The SDK's call context without the credentials: it keeps the request headers in the
    context, which the SDK logs at debug level; the token has been checked by then."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        headers = context.state.get("headers")
        if isinstance(headers, dict):
            for name in _SECRET_HEADERS:
                headers.pop(name, None)
        return context


_SECRET_HEADERS = ("authorization", "cookie", "proxy-authorization", "x-goog-api-key")


class _Guard:
    """Token, Host (DNS rebinding) and Origin checks of ``agentloop serve``, and the body size
    (413 past ``max_body`` bytes, before it is read whole), before the SDK."""

    def __init__(self, app: ASGIApp, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        public = request.method == "GET" and request.url.path == AGENT_CARD_WELL_KNOWN_PATH
        refused = refusal(request, self.token, public=public)
        length = request.headers.get("content-length")
        if (
            refused is None
            and length is not None
            and length.isdigit()
            and int(length) > self.max_body
        ):
            refused = 413, self._too_large()
        if refused is not None:
            status, text = refused
            await JSONResponse({"error": text}, status_code=status)(scope, receive, send)
            return
        seen, started = 0, False

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return message

        async def watched(message: Any) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except _TooLarge:
            if not started:
                response = JSONResponse({"error": self._too_large()}, status_code=413)
                await response(scope, receive, send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body} bytes"


class _TooLarge(BaseException):
    """A streamed request body grew past the limit (a BaseException: the SDK's handler turns
    every Exception into an internal error)."""


def _open_store(store: Any) -> tuple[ConversationStore, bool]:
    if store is None:
        from agentloop.stores import SQLiteStore

        return SQLiteStore(":memory:"), True
    if isinstance(store, (str, os.PathLike)):
        from agentloop.stores import open_store

        return open_store(store), True
    return store, False


def create_app(
    agent: Agent,
    store: ConversationStore | str | os.PathLike[str] | None = None,
    *,
    client: AsyncClient | None = None,
    token: str | None = None,
    skills: Sequence[Any] | None = None,
    max_body: int = MAX_BODY,
) -> Starlette:
    """``agent`` as an A2A server (an ASGI app; serve it with uvicorn).

    Args:
        agent: The ``agentloop.Agent`` to serve.
        store: Where each A2A context is journaled (the context id is the conversation id):
            a ``ConversationStore``, a path or URL (``sqlite:///...``, ``postgresql://...``),
            or None for an in-memory store (contexts then end with the process).
        client: The ``AsyncClient`` the agent's turns use. None: the real API when
            ``GEMINI_API_KEY`` is set, else the bundled emulator.
        token: When set, every A2A request must carry ``Authorization: Bearer TOKEN`` (the
            card says so, without the token). Required when serving beyond loopback.
        skills: The card's skills (``a2a.types.AgentSkill``, dicts of its fields, or names);
            default: the agent's ``skills`` if it has them, else one skill per tool.
        max_body: The largest request body accepted, in bytes (larger ones get 413).
    """
    check_token(token)
    own_client = client is None
    if client is None:
        from agentloop.client import AsyncClient

        client = AsyncClient()  # the real API with GEMINI_API_KEY, else the bundled emulator
    assert client is not None
    conversation_store, owned = _open_store(store)
    executor = _Executor(agent, client, conversation_store)
    card = agent_card(agent, "http://127.0.0.1" + RPC_PATH, skills=skills, token=bool(token))
    handler = _Handler(
        agent_executor=executor,
        task_store=_Tasks(executor),
        agent_card=card,
        request_context_builder=SimpleRequestContextBuilder(task_id_generator=_TaskIds()),
    )
    handler.executor = executor

    async def card_route(request: Request) -> Response:
        # The interface URL is where this request came in (behind the Host checks), so the
        # card is right on any port and behind any proxy the Host header names.
        served = AgentCard()
        served.CopyFrom(card)
        served.supported_interfaces[0].url = str(request.base_url).rstrip("/") + RPC_PATH
        return JSONResponse(agent_card_to_dict(served))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await handler.aclose()
            if owned:
                conversation_store.close()
            if own_client:
                await client.close()

    routes = [
        Route(AGENT_CARD_WELL_KNOWN_PATH, card_route, methods=["GET"]),
        *create_jsonrpc_routes(handler, rpc_url=RPC_PATH, context_builder=_CallContexts()),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(_Guard, token=token, max_body=max_body)
    app.state.agent_card = card
    app.state.executor = executor
    return app
