"""The ASGI app: the chat page, the AG-UI endpoint, and a small JSON sessions API.

Every turn runs as a server-side ``asyncio`` task, not inside the request that started it: a
request only *follows* the run's events. Closing the tab ends the request, not the turn; the
page (or any client) attaches again with ``GET /api/sessions/{id}/events`` and is sent the
run's events from its start. The conversation is saved to the store when a run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from ag_ui.encoder import EventEncoder
from starlette.applications import Starlette
from starlette.middleware import Middleware

from agentloop._defaults import DEFAULT_MODEL
from agentloop._guard import Guard, Refused, check_token, failure_message
from agentloop.loop import AsyncConversation, TurnCompleted
from agentloop.stores.sessions import Sessions, open_sessions, valid_session_id

from ._agui import RunTranslator, history_items
from ._failures import is_empty, items_with_failures, record_failure
from ._routes import EXCEPTION_HANDLERS, STATIC, STRATEGIES, WebState, routes

if TYPE_CHECKING:
    from ag_ui.core import BaseEvent

    from agentloop.client import AsyncClient

__all__ = ["create_app"]

log = logging.getLogger("agentloop.web")

MAX_LIVE = 128  # sessions kept loaded in memory (the least recently used idle ones go)


@dataclass
class _Run:
    """One turn's AG-UI events (encoded SSE frames) and whether it ended."""

    id: str
    session_id: str
    user_text: str | None
    start: int  # history length when the run began: steps before it are drawn from history
    frames: list[str] = field(default_factory=list)
    done: bool = False
    task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, events: Iterable[BaseEvent], encoder: EventEncoder) -> None:
        self.frames.extend(encoder.encode(e) for e in events)
        self._wake()

    def finish(self) -> None:
        self.done = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def follow(self) -> AsyncIterator[str]:
        """Every frame from the start of the run, then new ones as they come, until it ends."""
        i = 0
        while True:
            while i < len(self.frames):
                yield self.frames[i]
                i += 1
            if self.done:
                return
            changed = self._changed
            await changed.wait()


@dataclass
class _Live:
    """A session loaded in this server: its conversation, app meta, and last run."""

    conv: AsyncConversation
    meta: dict[str, Any]
    run: _Run | None = None
    # Decisions on calls waiting for approval, applied once every waiting call has one.
    decided: dict[str, tuple[bool, str | None]] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.run is not None and not self.run.done


class _Hub:
    """The sessions this server knows, and the runs of their turns."""

    def __init__(
        self,
        sessions: Sessions,
        client: AsyncClient,
        tools: list[Any],
        defaults: dict[str, Any],
        meta: dict[str, Any],
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.tools = tools
        self.defaults = defaults
        self.meta = meta
        self.live: dict[str, _Live] = {}
        self.encoder = EventEncoder()
        self.owns_store = False  # True when create_app opened the store from a path or URL
        self.agent: Any = None  # the agentloop.Agent running every session, if any

    # --- sessions ------------------------------------------------------------------------------

    def get(self, id: str, *, create: bool = False) -> _Live:
        if not valid_session_id(id):
            raise Refused(400, f"{id!r} is not a session id (1-128 of A-Z a-z 0-9 _ . : -)")
        live = self.live.pop(id, None)
        if live is not None:
            self.live[id] = live  # most recently used last
            return live
        if id in self.sessions:
            conv = self.sessions.load(
                id, client=self.client, tools=self.tools, cls=AsyncConversation
            )
            live = _Live(conv, self.sessions.meta(id))
        elif create:
            conv = self.sessions.create(
                AsyncConversation, self.client, tools=self.tools, id=id, **self.defaults
            )
            live = _Live(conv, {**self.meta, "title": "", "usage": {}})
        else:
            raise Refused(404, f"no session {id!r}")
        if self.agent is not None:
            self.agent._attach(live.conv)
        self.live[id] = live
        self._forget_idle()
        return live

    def _forget_idle(self) -> None:
        """Keep at most MAX_LIVE sessions in memory: idle ones are in the store already."""
        extra = len(self.live) - MAX_LIVE
        for id, live in list(self.live.items()):
            if extra <= 0:
                break
            if not live.running and not live.decided:
                del self.live[id]
                extra -= 1

    def save(self, live: _Live) -> None:
        self.sessions.save(live.conv, live.meta)

    def summary(self, live: _Live) -> dict[str, Any]:
        conv = live.conv
        return {
            "id": conv.id,
            "title": live.meta.get("title") or conv.id,
            "model": conv.model,
            "strategy": conv.strategy,
            "usage": live.meta.get("usage") or {},
            "cost": conv.usage.cost,
            "running": live.running,
            "pending": [c.id for c in conv.pending_approvals],
        }

    def listing(self) -> list[dict[str, Any]]:
        out = []
        seen = set()
        for info in self.sessions.list():
            live = self.live.get(info.id)
            seen.add(info.id)
            if is_empty(info.meta, lambda id=info.id: self.sessions.steps(id)):
                continue  # nothing was said in it (a strategy switch, a failed start)
            out.append(
                {
                    "id": info.id,
                    "title": info.title,
                    "updated": info.updated,
                    "running": bool(live and live.running),
                }
            )
        for id, live in self.live.items():  # started here, not saved yet (first turn running)
            if id not in seen and live.running:
                title = live.meta.get("title") or id
                out.insert(0, {"id": id, "title": title, "updated": time.time(), "running": True})
        return out

    def detail(self, live: _Live) -> dict[str, Any]:
        conv = live.conv
        history = conv.history
        run = live.run
        running = None
        if run is not None and not run.done:
            history = history[: run.start]
            running = {"run_id": run.id, "user_text": run.user_text}
        pending = {c.id for c in conv.pending_approvals}
        return {
            **self.summary(live),
            "items": items_with_failures(history, pending, live.meta, history_items),
            "running_run": running,
        }

    async def delete(self, id: str) -> bool:
        live = self.live.pop(id, None)
        if live is not None and live.run is not None and live.run.task is not None:
            live.run.task.cancel()
            with contextlib.suppress(BaseException):
                await live.run.task
        return self.sessions.delete(id) or live is not None

    # --- runs ------------------------------------------------------------------------------------

    def start(
        self,
        live: _Live,
        run_id: str,
        text: str | None,
        decisions: dict[str, tuple[bool, str | None]] | None,
    ) -> _Run:
        if live.running:
            from agentloop.errors import TurnInProgressError

            raise TurnInProgressError(
                f"session {live.conv.id!r} is still running a turn; wait for it or stop it "
                "(Esc in the page, POST /api/sessions/{id}/stop)"
            )
        conv = live.conv
        announced = {c.id for c in conv.pending_approvals}
        if decisions is not None:
            waiting = {c.id for c in conv.pending_approvals}
            if not waiting:
                raise Refused(409, "nothing in this session waits for approval")
            unknown = sorted(set(decisions) - waiting)
            if unknown:
                raise Refused(
                    400,
                    f"interrupt ids {unknown} do not wait for approval; waiting: {sorted(waiting)}",
                )
            live.decided.update(decisions)
        run = _Run(run_id, conv.id, text, len(conv.history))
        live.run = run
        if text is not None and not live.meta.get("title"):
            live.meta["title"] = " ".join(text.split())[:60]
        translator = RunTranslator(conv.id, run_id, model=conv.model, announced=announced)
        run.push(translator.started(), self.encoder)
        run.task = asyncio.create_task(self._drive(live, run, translator, text))
        return run

    async def _drive(
        self, live: _Live, run: _Run, translator: RunTranslator, text: str | None
    ) -> None:
        conv = live.conv
        turn = None
        steps_before = len(conv.history)
        try:
            if text is None:
                waiting = conv.pending_approvals
                undecided = [c for c in waiting if c.id not in live.decided]
                if undecided:  # some calls still wait: answer at once, no model request
                    run.push(translator.waiting(undecided, self._session(live)), self.encoder)
                    return
                for call in waiting:
                    ok, reason = live.decided[call.id]
                    if ok:
                        conv.approve(call.id)
                    else:
                        why = reason or "the user rejected this call in the web chat"
                        conv.reject(call.id, why)
                live.decided.clear()
                events = conv.resume_stream()
            else:
                live.decided.clear()
                live.meta.pop("paused_usage", None)
                events = conv.stream(text)
            async for event in events:
                run.push(translator.feed(event), self.encoder)
                if isinstance(event, TurnCompleted):
                    turn = event.turn
            if turn is not None:
                self._count(live, turn)
            self._save_quietly(live)
            assert turn is not None
            run.push(translator.finished(turn, self._session(live)), self.encoder)
        except asyncio.CancelledError:
            # Stopped by the user (Esc) or the server shutting down: the engine has closed the
            # turn's open calls, so the saved history stays valid.
            self._save_quietly(live)
            run.push(translator.cancelled(self._session(live)), self.encoder)
        # SystemExit, KeyboardInterrupt: raised by a tool's code (uvicorn takes the signals),
        # they end this turn, not the server.
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            partial = getattr(exc, "turn", None)
            if partial is not None:
                self._count(live, partial)
            from agentloop.errors import ConflictError, TurnInProgressError

            if isinstance(exc, (ConflictError, TurnInProgressError)):
                # Another writer (a CLI chat, another server) changed the session or runs a
                # turn of it: nothing of this turn was written. Take the stored session, so
                # the next message goes on top of what the other writer did.
                exc = self._reload(live, exc)
            message = failure_message(exc, log, f"turn of session {conv.id}")
            # A turn the model had begun answering keeps its message in history (the model
            # saw it): then only the error is drawn, after it, never the message twice.
            kept = len(live.conv.history) > steps_before and live.conv is conv
            record_failure(live.meta, len(live.conv.history), None if kept else text, exc, message)
            self._save_quietly(live)
            run.push(translator.error(exc, self._session(live), message), self.encoder)
        finally:
            run.finish()

    def _reload(self, live: _Live, exc: Exception) -> Exception:
        """Replace a session's conversation by the stored one; the error to show."""
        from agentloop.errors import ConflictError

        id = live.conv.id
        try:
            live.conv = self.sessions.load(
                id, client=self.client, tools=self.tools, cls=AsyncConversation
            )
            live.meta = {**live.meta, **self.sessions.meta(id)}
        except Exception:
            log.exception("could not reload session %s", id)
            return exc
        if isinstance(exc, ConflictError):
            return ConflictError(
                f"another writer changed session {id!r} first; nothing of this message was "
                f"saved. The session was reloaded ({len(live.conv.history)} steps): send "
                "your message again",
                conversation_id=id,
            )
        return exc

    def _save_quietly(self, live: _Live) -> None:
        """Save at the end of a run; a failure is logged, the run's events still go out."""
        try:
            self.save(live)
        except Exception:
            log.exception("could not save session %s", live.conv.id)

    def _session(self, live: _Live) -> dict[str, Any]:
        return self.summary(live) | {"running": False}

    @staticmethod
    def _count(live: _Live, turn: Any) -> None:
        """Add a turn's usage to the session's totals (once, also across an approval pause)."""
        usage = live.meta.setdefault("usage", {})
        u = turn.usage
        now = {
            "input_tokens": u.total_input_tokens or 0,
            "output_tokens": (u.total_output_tokens or 0) + (u.total_thought_tokens or 0),
            "total_tokens": u.total_tokens or 0,
            "model_requests": turn.model_requests,
        }
        # A resumed turn reports its paused part again: that part was counted already.
        counted = live.meta.pop("paused_usage", None) or {}
        for key, value in now.items():
            usage[key] = int(usage.get(key, 0)) + int(value) - int(counted.get(key, 0))
        if turn.status == "awaiting_approval":
            live.meta["paused_usage"] = now

    # --- time travel: re-run from a turn in a new branch, the branch tree ---------------------

    async def rerun(self, live: _Live, turn: int) -> dict[str, Any]:
        """A new session holding ``live``'s turns before ``turn`` (a stored branch naming its
        parent); the page then sends the edited message to it."""
        if live.running:
            raise Refused(409, "a turn is running; re-run from a turn when it has finished")
        conv, writes = live.conv._rerun_branch(turn, f"web-{secrets.token_hex(8)}")
        await conv._effects(writes)
        meta = {**self.meta, **live.meta, "usage": {}, "title": ""}  # titled by the re-run
        meta.pop("paused_usage", None)
        branch = _Live(conv, meta)
        self.live[conv.id] = branch
        self._forget_idle()
        self.save(branch)
        return self.summary(branch)

    def branches(self, live: _Live) -> dict[str, Any]:
        """The branch tree ``live`` belongs to, flattened in drawing order, and its turns."""
        id = live.conv.id
        root, children = self.sessions.family(id) if id in self.sessions else (id, {})
        rows: list[dict[str, Any]] = []

        def add(info: Any, depth: int) -> None:
            fork = info.fork or {}
            rows.append(
                {
                    "id": info.id,
                    "title": info.title,
                    "parent": info.parent,
                    "at": fork.get("at"),
                    "kind": fork.get("kind"),
                    "depth": depth,
                }
            )
            for child in children.get(info.id, []):
                add(child, depth + 1)

        for info in children.get(None, []):
            if info.id == root:
                add(info, 0)
        turns = [
            {
                "index": t.index,
                "input_text": t.input_text,
                "output_text": t.output_text,
                "interaction_id": t.interaction_id,
                "status": t.status,
            }
            for t in live.conv.turns
        ]
        return {"root": root, "current": id, "branches": rows, "turns": turns}

    async def stop(self, id: str) -> bool:
        live = self.live.get(id)
        if live is None or not live.running or live.run is None or live.run.task is None:
            return False
        live.run.task.cancel()
        with contextlib.suppress(BaseException):
            await live.run.task
        return True

    async def close(self) -> None:
        for live in list(self.live.values()):
            if live.running:
                await self.stop(live.conv.id)
        if self.owns_store:
            self.sessions.close()
        close = getattr(self.client, "aclose", None) or getattr(self.client, "close", None)
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result


def _asset(name: str) -> bytes:
    return resources.files("agentloop.web").joinpath("static").joinpath(name).read_bytes()


def create_app(
    *,
    tools: Iterable[Any] = (),
    store: Any = None,
    client: AsyncClient | None = None,
    model: str | None = None,
    system_instruction: str | None = None,
    strategy: str = "stateful",
    generation_config: dict[str, Any] | None = None,
    max_steps: int = 20,
    token: str | None = None,
    title: str = "agentloop chat",
    meta: dict[str, Any] | None = None,
    offline: bool = False,
    backend_note: str = "",
    emulator: bool = False,
    max_body: int = 1_000_000,
    agent: Any = None,
) -> Starlette:
    """The web chat and the AG-UI endpoint as an ASGI app (serve it with uvicorn).

    Args:
        tools: The functions (or ``Tool`` objects) the model may call. The server decides
            which calls need approval (``@tool(requires_approval=...)``); the browser can only
            answer the calls it is asked about.
        store: Where sessions are kept: a store object, a path or ``sqlite:///path``, or None
            for ``~/.agentloop/sessions.db`` (``$AGENTLOOP_HOME/sessions.db``).
        client: An ``AsyncClient``. None: ``AsyncClient()`` on the real API (it needs
            ``GEMINI_API_KEY``), or the bundled emulator with ``emulator=True``.
        model: The model of new sessions (default ``gemini-3.5-flash``).
        system_instruction: The system instruction of new sessions.
        strategy: ``"stateful"`` or ``"stateless"`` for new sessions; switchable per session.
        generation_config: Generation settings of new sessions; thought summaries are asked
            for (``thinking_summaries="auto"``) unless it says otherwise.
        max_steps: Most model requests per turn.
        token: When set, every API request must carry ``Authorization: Bearer TOKEN`` (the
            page asks for it once). Required when serving beyond loopback.
        title: The page title.
        meta: Extra settings saved with each new session (``agentloop serve`` records the
            tools files here).
        offline: Whether ``client`` is the bundled emulator (the page then says so).
        backend_note: One line about where requests go, shown on the page.
        emulator: Run on the bundled emulator (canned answers, no key, offline); the page
            says so. Not with ``client``.
        max_body: The largest request body accepted, in bytes (larger ones get 413).
        agent: An ``agentloop.Agent`` that runs every session: its instructions, model and
            tools (sub-agents and handoffs included) replace ``tools``, ``model`` and
            ``system_instruction``.
    """
    if strategy not in STRATEGIES:
        from agentloop.errors import InputError

        raise InputError(f"strategy must be 'stateful' or 'stateless', got {strategy!r}")
    check_token(token)
    if emulator:
        if client is not None:
            from agentloop.errors import ConfigurationError

            raise ConfigurationError(
                "create_app() takes client= or emulator=True, not both: the emulator is a "
                "client of its own"
            )
        from agentloop.testing import Emulator
        from agentloop.testing.server import DEFAULT_SIGNING_KEY

        # A fixed signing key: thought signatures issued by one server process must still
        # verify in the next one, or resumed sessions could not replay history.
        client = Emulator(signing_key=DEFAULT_SIGNING_KEY).async_client()
        offline = True
        backend_note = backend_note or (
            "Offline: running on the bundled agentloop emulator (its answers are canned, not "
            "a real model)."
        )
    elif client is None:
        from agentloop.client import AsyncClient

        if not os.environ.get("GEMINI_API_KEY", "").strip():
            from agentloop.errors import MissingAPIKeyError

            raise MissingAPIKeyError(
                "create_app() talks to the Gemini API and GEMINI_API_KEY is not set: set it, "
                "pass client=AsyncClient(api_key=...), or pass emulator=True to run on the "
                "bundled emulator (canned answers, offline)"
            )
        client = AsyncClient()
    tool_list = list(tools)
    config = {"thinking_summaries": "auto", **(generation_config or {})}
    defaults: dict[str, Any] = {
        "model": model,
        "system_instruction": system_instruction,
        "strategy": strategy,
        "generation_config": config,
        "max_steps": max_steps,
    }
    if agent is not None:
        settings = agent._conversation_kwargs()
        tool_list = [*settings.pop("tools"), *tool_list]
        defaults.update({k: v for k, v in settings.items() if v is not None})
    sessions = open_sessions(store)
    hub = _Hub(sessions, client, tool_list, defaults, dict(meta or {}))
    hub.agent = agent
    hub.owns_store = store is None or isinstance(store, (str, os.PathLike))
    from agentloop.tools import ToolRegistry

    tool_info = [
        {"name": t.name, "requires_approval": bool(t.requires_approval)}
        for t in ToolRegistry(tool_list)
    ]
    index_html = _asset("index.html")
    assets = {name: _asset(name) for name in STATIC}

    app = Starlette(
        routes=routes(),
        middleware=[Middleware(Guard, token=token, max_body=max_body)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=_lifespan,
    )
    app.state.hub = hub
    app.state.offline = offline
    app.state.web = WebState(
        hub=hub,
        info={
            "title": title,
            "offline": offline,
            "backend": backend_note,
            "model": defaults["model"] or DEFAULT_MODEL,
            "strategy": strategy,
            "strategies": list(STRATEGIES),
            "tools": tool_info,
        },
        index_html=index_html,
        assets=assets,
    )
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await app.state.hub.close()
