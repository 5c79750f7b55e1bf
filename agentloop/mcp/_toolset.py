"""``MCPToolset``: the tools of an MCP server (stdio subprocess, streamable HTTP, or a server
object in this process connected in memory).

One connection per toolset, owned by a task on the toolset's own event-loop thread: the MCP
SDK's transports are anyio task groups that must be entered and left by the same task, and a
private loop serves both drivers alike (a sync ``Conversation``; an ``AsyncConversation`` on
any loop, even one ``asyncio.run`` per turn). Tool calls hop onto that loop and back.

Lifecycle: nothing starts until the tools are first needed (the first turn asks for the
declarations); the listing is cached and refreshed after the server says its tools changed;
``close()`` (or the conversation's/registry's ``close()``) stops the server.

Resilience: starting is bounded by ``startup_timeout`` and fails with ``MCPServerError``
carrying the end of the server's stderr. A call that finds the connection lost restarts the
server once; a call during which the server died is retried on a restarted server only for
``idempotent=True`` toolsets, otherwise it comes back as an ``is_error`` result saying so.
Every call failure is an ``is_error`` result; the turn goes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import re
import shlex
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from typing import Any, TextIO, TypeVar, Union

from agentloop._portal import LoopThread
from agentloop.errors import ConfigurationError, MCPServerError
from agentloop.tools import ApprovalPolicy, Tool, ToolError
from agentloop.tools.context import ToolContext

from ._results import error_text, from_mcp
from ._schema import adapt_schema

__all__ = ["ApprovalRule", "MCPTool", "MCPToolset", "Transport"]

logger = logging.getLogger("agentloop.mcp")

T = TypeVar("T")

ApprovalRule = Union[bool, Collection[str], ApprovalPolicy]
"""``requires_approval=``: all tools (``True``), none, the tools named (MCP or prefixed names),
or a policy ``(call, ctx) -> bool`` asked for each call."""

_INVALID = re.compile(r"[^A-Za-z0-9_.:\-]")
_STDERR_TAIL = 2000
_STOP_TIMEOUT = 10.0
_MAX_PAGES = 100


def _function_name(prefix: str, name: str) -> str:
    """A valid Gemini function name for an MCP tool (letters, digits, ``_ . : -``; 64 max)."""
    text = _INVALID.sub("_", f"{prefix}{name}") or "_"
    if not (text[0].isalpha() or text[0] == "_"):
        text = f"_{text}"
    return text[:64]


class MCPTool(Tool[..., Any]):
    """One tool of an MCP server, as a ``Tool``: its declaration comes from the server's
    schema and a call goes to the server. ``mcp_name`` is the server's name for it,
    ``server`` the toolset's name. Arguments are passed on as the model sent them; the server
    validates them (its error reaches the model as an ``is_error`` result)."""

    mcp_name: str
    server: str
    idempotent: bool

    def __init__(
        self,
        toolset: MCPToolset,
        mcp_name: str,
        name: str,
        description: str,
        parameters: dict[str, Any],
        *,
        timeout: float | None,
        requires_approval: bool | ApprovalPolicy,
        idempotent: bool,
    ) -> None:
        async def call_mcp_tool(arguments: dict[str, Any]) -> Any:
            return await toolset._call(mcp_name, arguments)

        call_mcp_tool.__name__ = call_mcp_tool.__qualname__ = name
        super().__init__(
            call_mcp_tool,
            name=name,
            description=description,
            timeout=timeout,
            requires_approval=requires_approval,
            idempotent=idempotent,
        )
        self.parameters = parameters  # the server's schema, not the wrapper's signature
        self._declaration = None
        self.mcp_name = mcp_name
        self.server = toolset.name

    def validate_arguments(
        self, arguments: Mapping[str, Any], context: ToolContext[Any] | None = None
    ) -> tuple[list[Any], dict[str, Any]]:
        return [], {"arguments": dict(arguments)}

    def __repr__(self) -> str:
        return f"<MCPTool {self.name!r} of {self.server!r}>"


Transport = Callable[[TextIO], contextlib.AbstractAsyncContextManager[Any]]
"""``transport(stderr)``: an async context manager yielding the MCP SDK's ``(read, write)``
streams (what ``mcp.client.stdio.stdio_client`` yields); ``stderr`` is a file for the server's
diagnostics, whose end is shown in errors."""

_Target = Callable[[TextIO], Any]
"""What the SDK's ``mcp.Client`` connects to, made anew per connection: a transport's
``(read, write)`` streams, or a server object in this process."""


class _Link:
    """One live connection: the owning task, the client it entered, and how to stop it."""

    def __init__(self) -> None:
        self.client: Any = None
        self.task: asyncio.Task[None] | None = None
        self.stop = asyncio.Event()
        self.lost = False
        # The server's stderr (a stdio server writes to it directly); closed with the link.
        self.stderr: TextIO | None = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115

    def alive(self) -> bool:
        if self.lost or self.client is None or self.task is None or self.task.done():
            return False
        # The SDK's dispatcher marks itself closed when the transport ends (the server process
        # exited, the HTTP stream dropped); there is no public flag for it yet.
        dispatcher = getattr(getattr(self.client, "_session", None), "_dispatcher", None)
        return not getattr(dispatcher, "_closed", False)

    def close_stderr(self) -> None:
        file, self.stderr = self.stderr, None
        if file is not None:
            with contextlib.suppress(Exception):
                file.close()

    def stderr_tail(self) -> str:
        file = self.stderr
        if file is None:
            return ""
        try:
            fd = file.fileno()
            size = os.fstat(fd).st_size
            data = os.pread(fd, _STDERR_TAIL, max(0, size - _STDERR_TAIL))
        except (OSError, ValueError, AttributeError):
            return ""
        return data.decode("utf-8", "replace").strip()


class MCPToolset:
    """The tools of one MCP server, usable anywhere tools are.

    Build one with ``MCPToolset.stdio(command, args)`` (a local server run as a subprocess),
    ``MCPToolset.http(url, headers)`` (streamable HTTP) or ``MCPToolset.memory(server)`` (a
    server object in this process, connected in memory: tests, embedded servers), or give
    any other MCP SDK transport as ``MCPToolset(transport, name=...)``; then pass it with your other
    tools: ``Conversation(client, tools=[toolset, my_function])``. Use it as a context
    manager, or close it (closing the conversation or registry closes it too).

    Options: ``prefix`` is put before every tool name (``git_``); ``include``/``exclude``
    choose tools by their MCP names; ``requires_approval`` is ``True`` (all tools), a set of
    names, or a policy ``(call, ctx) -> bool``; ``timeout`` bounds each call (seconds);
    ``idempotent=True`` marks the tools safe to run again (after a crash, for recovery, or
    when the server died during a call); ``startup_timeout`` bounds starting the server.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        name: str,
        prefix: str | None = None,
        include: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
        requires_approval: ApprovalRule = False,
        timeout: float | None = None,
        idempotent: bool = False,
        startup_timeout: float = 30.0,
    ) -> None:
        if timeout is not None and not timeout > 0:
            raise ConfigurationError(
                f"timeout must be a positive number of seconds, got {timeout!r}"
            )
        if not startup_timeout > 0:
            raise ConfigurationError(f"startup_timeout must be positive, got {startup_timeout!r}")
        self._target: _Target = transport
        self.name = name
        self.prefix = prefix or ""
        self.include = frozenset(include) if include is not None else None
        self.exclude = frozenset(exclude or ())
        if isinstance(requires_approval, (str, bytes)):
            raise ConfigurationError(
                "requires_approval takes a bool, a collection of names or a policy"
            )
        self.requires_approval = requires_approval
        self.timeout = float(timeout) if timeout is not None else None
        self.idempotent = idempotent
        self.startup_timeout = float(startup_timeout)
        self._lock = threading.Lock()
        self._runner: LoopThread | None = None
        self._tools: list[MCPTool] | None = None
        self._stale = False
        self._checked_include = False
        self._state = "not started"  # then "closed" once closed
        # state below lives on the runner's loop
        self._link: _Link | None = None
        self._link_lock: asyncio.Lock | None = None

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        *,
        name: str | None = None,
        prefix: str | None = None,
        include: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
        requires_approval: ApprovalRule = False,
        timeout: float | None = None,
        idempotent: bool = False,
        startup_timeout: float = 30.0,
    ) -> MCPToolset:
        """A server run as a subprocess speaking MCP on its stdin/stdout.

        The process gets a minimal environment (``PATH``, ``HOME``, ``USER``...) plus ``env``;
        pass any secret it needs there. Its stderr is kept in a temporary file whose end is
        shown when the server fails to start or dies.
        """
        if not isinstance(command, (str, os.PathLike)) or not os.fspath(command):
            raise ConfigurationError(
                f"MCPToolset.stdio(command): the program to start (a str), not {command!r}"
            )
        if isinstance(args, (str, bytes)):
            raise ConfigurationError(
                f"MCPToolset.stdio(command, args): args is a list of arguments, e.g. "
                f"[{args!r}], not one string"
            )
        command = os.fspath(command)
        if not args and " " in command.strip() and not os.path.exists(command):
            # "agentloop mcp serve --tools tools.py" as one string: a command line, not a program
            program, *rest = command.split()
            raise ConfigurationError(
                f"MCPToolset.stdio({command!r}): command is the program and args its arguments "
                f"as a list: MCPToolset.stdio({program!r}, {rest!r})"
            )
        arguments = [os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in args]
        extra = {str(k): str(v) for k, v in (env or {}).items()}
        where = os.fspath(cwd) if cwd is not None else None

        def transport(stderr: TextIO) -> contextlib.AbstractAsyncContextManager[Any]:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            params = StdioServerParameters(
                command=command, args=arguments, env=extra or None, cwd=where
            )
            return stdio_client(params, errlog=stderr)

        label = name or shlex.join([os.path.basename(command), *arguments])[:80]
        return cls(
            transport,
            name=label,
            prefix=prefix,
            include=include,
            exclude=exclude,
            requires_approval=requires_approval,
            timeout=timeout,
            idempotent=idempotent,
            startup_timeout=startup_timeout,
        )

    @classmethod
    def http(
        cls,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        prefix: str | None = None,
        include: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
        requires_approval: ApprovalRule = False,
        timeout: float | None = None,
        idempotent: bool = False,
        startup_timeout: float = 30.0,
    ) -> MCPToolset:
        """A server reached over streamable HTTP at ``url`` (``headers`` go with every
        request, e.g. ``{"Authorization": "Bearer ..."}``; they never appear in a repr)."""
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"MCPToolset.http(url): the server's http:// or https:// URL, not {url!r:.80}"
            )
        sent = {str(k): str(v) for k, v in (headers or {}).items()}

        def transport(stderr: TextIO) -> contextlib.AbstractAsyncContextManager[Any]:
            return _http_transport(url, sent)

        return cls(
            transport,
            name=name or _url_label(url),
            prefix=prefix,
            include=include,
            exclude=exclude,
            requires_approval=requires_approval,
            timeout=timeout,
            idempotent=idempotent,
            startup_timeout=startup_timeout,
        )

    @classmethod
    def memory(
        cls,
        server: Any,
        *,
        name: str | None = None,
        prefix: str | None = None,
        include: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
        requires_approval: ApprovalRule = False,
        timeout: float | None = None,
        idempotent: bool = False,
        startup_timeout: float = 30.0,
    ) -> MCPToolset:
        """A server object in this process (the MCP SDK's ``MCPServer``, a low-level
        ``mcp.server.lowlevel.Server``, or ``agentloop.mcp.mcp_server(tools)``), connected in
        memory through the SDK's in-process client: no subprocess, no socket, no JSON framing.

        Everything else is as with ``stdio()``/``http()``: the same listing, schema
        adaptation, approvals, results and errors, so it suits tests of tool logic and servers
        embedded in the application. The server's own lifespan runs for each connection;
        ``close()`` ends it. ``name`` defaults to the server's name.
        """
        from mcp.server.lowlevel import Server
        from mcp.server.mcpserver import MCPServer

        if not isinstance(server, (Server, MCPServer)):
            raise ConfigurationError(
                "MCPToolset.memory() takes an MCP server object (mcp's MCPServer, a low-level "
                f"mcp.server.lowlevel.Server, or agentloop.mcp.mcp_server(tools)), got "
                f"{type(server).__name__}; for a server program use MCPToolset.stdio(), for a "
                "URL MCPToolset.http()."
            )
        # The SDK's ``Client`` connects to a server object in-process (its documented path for
        # tests): the "transport" here hands it the server itself.
        target: Any = server
        return cls(
            lambda stderr: target,
            name=name or str(getattr(server, "name", None) or "in-memory"),
            prefix=prefix,
            include=include,
            exclude=exclude,
            requires_approval=requires_approval,
            timeout=timeout,
            idempotent=idempotent,
            startup_timeout=startup_timeout,
        )

    # --- the Toolset protocol -----------------------------------------------------------------

    def tools(self) -> list[MCPTool]:
        """The server's tools (starting the server on first use; re-listed after it said its
        tools changed). Raises ``MCPServerError`` if it cannot start or list them the first
        time; later, a failed re-listing keeps the last list (calls then report the problem
        as ``is_error`` results)."""
        current = self._tools
        if current is not None and not self._stale:
            return current
        with self._lock:
            if self._tools is not None and not self._stale:
                return self._tools
            previous = self._tools
            future = self._runner_().submit(self._refresh())
        try:
            return future.result(self.startup_timeout + _STOP_TIMEOUT)
        except concurrent.futures.TimeoutError:
            future.cancel()
            error = MCPServerError(
                f"MCP server {self.name!r} did not answer within {self.startup_timeout:g} s; "
                "check that it speaks MCP, or raise startup_timeout.",
                self.name,
            )
        except MCPServerError as exc:
            error = exc
        if previous is None:
            raise error
        logger.warning("keeping the last tool list of MCP server %r: %s", self.name, error)
        self._stale = False
        return previous

    def start(self) -> None:
        """Start the server and list its tools now (instead of at the first turn)."""
        self.tools()

    async def astart(self) -> None:
        """``start()`` without blocking the running event loop."""
        if self._tools is None or self._stale:
            with self._lock:
                future = self._runner_().submit(self._refresh())
            await asyncio.wrap_future(future)

    def close(self) -> None:
        """Stop the server (and the toolset's loop thread). Using the toolset again restarts."""
        with self._lock:
            runner, self._runner = self._runner, None
            self._tools = None
            if runner is not None:
                self._state = "closed"
            self._stale = False
        if runner is None:
            return
        try:
            runner.submit(self._shutdown()).result(_STOP_TIMEOUT + 5)
        except Exception:  # a stop that fails or hangs must not keep the caller
            logger.warning("MCP server %r did not stop cleanly", self.name, exc_info=True)
        runner.stop(_STOP_TIMEOUT)

    async def aclose(self) -> None:
        """``close()`` without blocking the running event loop."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> MCPToolset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> MCPToolset:
        await self.astart()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "started" if self._tools is not None else self._state
        return f"MCPToolset({self.name!r}, {state})"

    # --- internals (on the toolset's loop) -----------------------------------------------------

    def _runner_(self) -> LoopThread:
        if self._runner is None:
            self._runner = LoopThread("agentloop-mcp-" + re.sub(r"\W+", "-", self.name)[:24])
        return self._runner

    async def _refresh(self) -> list[MCPTool]:
        self._stale = False
        try:
            link = await self._live_link()
            listed = await self._list(link)
        except MCPServerError:
            raise
        except Exception as exc:
            raise MCPServerError(
                f"MCP server {self.name!r} could not list its tools: {_describe(exc)}", self.name
            ) from exc
        tools = self._build(listed)
        self._tools = tools
        return tools

    async def _list(self, link: _Link) -> list[Any]:
        listed: list[Any] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await asyncio.wait_for(
                link.client.list_tools(cursor=cursor), self.startup_timeout
            )
            listed.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return listed

    def _build(self, listed: list[Any]) -> list[MCPTool]:
        names = [t.name for t in listed]
        if self.include is not None and not self._checked_include:
            missing = sorted(self.include - set(names))
            if missing:
                raise MCPServerError(
                    f"include= names tools that MCP server {self.name!r} does not have: "
                    f"{', '.join(missing)}; it has: {', '.join(names) or 'none'}.",
                    self.name,
                )
            self._checked_include = True
        previous = {
            (t.mcp_name, t.description, json.dumps(t.parameters)): t for t in self._tools or []
        }
        built: list[MCPTool] = []
        taken: set[str] = set()
        for listed_tool in listed:
            mcp_name = listed_tool.name
            if self.include is not None and mcp_name not in self.include:
                continue
            if mcp_name in self.exclude:
                continue
            description = listed_tool.description or listed_tool.title or ""
            parameters = adapt_schema(listed_tool.input_schema)
            key = (mcp_name, description, json.dumps(parameters))
            name = _function_name(self.prefix, mcp_name)
            while name in taken:  # two MCP names that differ only in invalid characters
                name = f"{name[:60]}_{len(taken)}"
            taken.add(name)
            reused = previous.get(key)
            if reused is not None and reused.name == name:
                built.append(reused)
                continue
            built.append(
                MCPTool(
                    self,
                    mcp_name,
                    name,
                    description,
                    parameters,
                    timeout=self.timeout,
                    requires_approval=self._approval_for(mcp_name, name),
                    idempotent=self.idempotent,
                )
            )
        return built

    def _approval_for(self, mcp_name: str, name: str) -> bool | ApprovalPolicy:
        rule = self.requires_approval
        if isinstance(rule, bool):
            return rule
        if callable(rule):
            return rule
        return mcp_name in rule or name in rule

    async def _live_link(self, dead: _Link | None = None) -> _Link:
        """The live connection, (re)starting the server if there is none or it was lost."""
        if self._link_lock is None:
            self._link_lock = asyncio.Lock()
        async with self._link_lock:
            link = self._link
            if link is not None and link.alive() and link is not dead:
                return link
            if link is not None:
                self._stale = True  # a restarted server may have other tools
                logger.warning("MCP server %r was lost; restarting it", self.name)
                await self._stop(link)
                link.close_stderr()
            self._link = None
            link = await self._connect()
            self._link = link
            return link

    async def _connect(self) -> _Link:
        link = _Link()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        link.task = asyncio.create_task(self._own(link, ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), self.startup_timeout)
        except asyncio.TimeoutError:
            await self._stop(link)
            _consume(ready)  # the start cut short failed it too: already said here
            raise MCPServerError(
                f"MCP server {self.name!r} did not start within {self.startup_timeout:g} s"
                f"{_tail(link, close=True)}; check the command, or raise startup_timeout.",
                self.name,
            ) from None
        except Exception as exc:
            await self._stop(link)
            raise MCPServerError(
                f"MCP server {self.name!r} failed to start: {_describe(exc)}"
                f"{_tail(link, close=True)}",
                self.name,
            ) from exc
        return link

    async def _own(self, link: _Link, ready: asyncio.Future[None]) -> None:
        """The task that enters the client, keeps it until told to stop, and leaves it."""
        import anyio
        from mcp import Client
        from mcp.types import Implementation

        from agentloop import __version__

        try:
            async with contextlib.AsyncExitStack() as stack:
                client = Client(
                    self._target(link.stderr if link.stderr is not None else sys.stderr),
                    cache=None,
                    message_handler=self._on_message,
                    client_info=Implementation(name="agentloop", version=__version__),
                )
                await stack.enter_async_context(client)
                link.client = client
                async with anyio.create_task_group() as group:
                    group.start_soon(self._watch, client)
                    if not ready.done():
                        ready.set_result(None)
                    await link.stop.wait()
                    group.cancel_scope.cancel()
        except BaseException as exc:
            link.lost = True
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(exc))
            if not isinstance(exc, Exception):
                raise
            logger.debug("MCP server %r connection ended: %r", self.name, exc)
        finally:
            link.lost = True

    async def _watch(self, client: Any) -> None:
        """On 2026-era connections, changes arrive on a ``subscriptions/listen`` stream."""
        capabilities = getattr(client.server_capabilities, "tools", None)
        if not getattr(capabilities, "list_changed", False):
            return
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _ in subscription:
                    self._stale = True
        except Exception as exc:  # an older protocol, or the stream ended with the server
            logger.debug("MCP server %r: no tools/list_changed stream (%r)", self.name, exc)

    async def _on_message(self, message: Any) -> None:
        from mcp.types import ToolListChangedNotification

        if isinstance(message, ToolListChangedNotification):
            self._stale = True

    async def _stop(self, link: _Link) -> None:
        link.stop.set()
        task = link.task
        if task is not None and not task.done():
            if link.client is not None:  # connected: it leaves the client when told to stop
                await asyncio.wait({task}, timeout=_STOP_TIMEOUT)
            if not task.done():  # still starting (or stuck): cancel it
                task.cancel()
                await asyncio.wait({task}, timeout=_STOP_TIMEOUT)

    async def _shutdown(self) -> None:
        link, self._link = self._link, None
        self._link_lock = None
        if link is not None:
            await self._stop(link)
            link.close_stderr()

    async def _call(self, mcp_name: str, arguments: dict[str, Any]) -> Any:
        """Run one call on the toolset's loop, from whichever loop the tool is awaited on."""
        with self._lock:
            future = self._runner_().submit(self._call_here(mcp_name, arguments))
        return await asyncio.wrap_future(future)

    async def _call_here(self, mcp_name: str, arguments: dict[str, Any]) -> Any:
        from mcp import MCPError
        from mcp.types import CONNECTION_CLOSED

        restarts = 0  # at most one per call
        link: _Link | None = None
        for attempt in range(2):
            try:
                before = self._link
                link = await self._live_link(dead=link)
                restarts += before is not None and link is not before
            except MCPServerError as exc:
                raise ToolError(f"{exc.message} The tool {mcp_name!r} could not run.") from exc
            try:
                result = await link.client.call_tool(mcp_name, arguments)
            except MCPError as exc:
                if exc.code != CONNECTION_CLOSED:
                    raise ToolError(
                        f"MCP server {self.name!r} refused the call of {mcp_name!r}: "
                        f"{exc.message} (error {exc.code})."
                    ) from exc
                link.lost = True
                if attempt == 0 and self.idempotent and restarts == 0:
                    continue  # safe to run again: once, on a restarted server
                again = " again" if attempt else ""
                raise ToolError(
                    f"MCP server {self.name!r} stopped{again} (or the connection to it was "
                    f"lost) while running {mcp_name!r}{_tail(link)}. The call may or may not "
                    "have taken effect; the server is restarted for the next call."
                ) from exc
            except ToolError:
                raise
            except Exception as exc:
                raise ToolError(
                    f"Calling {mcp_name!r} on MCP server {self.name!r} failed: {_describe(exc)}"
                ) from exc
            if result.is_error:
                raise ToolError(error_text(result))
            return from_mcp(result)
        raise AssertionError("unreachable")  # pragma: no cover


@contextlib.asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> AsyncIterator[Any]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    timeout = httpx2.Timeout(30.0, read=300.0)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


def _url_label(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or url
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path}"  # no userinfo, no query (either may hold a secret)


def _consume(future: asyncio.Future[Any]) -> None:
    """Mark a failed future's exception as read (asyncio logs an unread one)."""
    if future.done() and not future.cancelled():
        future.exception()


def _describe(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None)  # an ExceptionGroup from the SDK's task groups
    if isinstance(inner, tuple) and inner and isinstance(inner[0], BaseException):
        return _describe(inner[0])
    if isinstance(exc, FileNotFoundError):
        return (
            f"command not found ({exc.filename or exc}): install it, or give its full path "
            "(a bare name is looked up on PATH)"
        )
    message = str(exc) or getattr(exc, "message", "") or ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _tail(link: _Link | None, close: bool = False) -> str:
    tail = link.stderr_tail() if link is not None else ""
    if close and link is not None:
        link.close_stderr()
    if not tail:
        return ""
    lines = tail.splitlines()[-8:]
    return "; its stderr ends with:\n" + "\n".join(lines) + "\n"
