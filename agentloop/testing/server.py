"""Loopback serving: ``serve()`` for tests and ``main()`` for ``agentloop emulator``.

starlette and uvicorn are imported inside the functions so importing this module is cheap.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from agentloop.errors import AgentloopError, ConfigurationError

from .signatures import DEFAULT_SIGNING_KEY  # re-exported: the CLI's default

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["DEFAULT_SIGNING_KEY", "SIGNING_KEY_ENV", "main", "serve", "serve_config"]


class _QuietDrops(logging.Filter):
    """Hide the traceback uvicorn logs when a dropped-stream fault cuts a response."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return type(exc).__name__ != "StreamDropped" and not _in_group(exc)


def _in_group(exc: BaseException | None) -> bool:
    inner = getattr(exc, "exceptions", None)
    return bool(inner) and all(type(e).__name__ == "StreamDropped" for e in inner or [])


def _config(emulator: Emulator, log_level: str) -> Any:
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    return uvicorn.Config(
        emulator.asgi_app(),
        log_level=log_level,
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=1,
    )


def _bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says so (proto 0 does not), and without it every response waits ~40 ms
    # for a delayed ACK between uvicorn's header and body writes.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:  # a port in use: the socket is not left for the collector
        sock.close()
        raise
    return sock


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port); a port in use (or any other bind
    failure) is a ``ConfigurationError`` saying what to do."""
    try:
        return _bind(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"port {port} on {host} is in use; stop what runs there or pick another with "
                "--port (--port 0 picks a free one)"
            ) from None
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def serve(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``emulator`` on a loopback uvicorn server in a thread; yield its base URL."""
    with serve_config(_config(emulator, "warning"), host, port, "the emulator server") as url:
        yield url


@contextlib.contextmanager
def serve_config(config: Any, host: str, port: int, what: str) -> Iterator[str]:
    """Run a ``uvicorn.Config`` on ``host:port`` (0: a free port) in a thread; yield its base
    URL, and stop the server when the block ends (``what`` names it in the start error)."""
    import uvicorn

    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name=f"agentloop-server-{actual_port}",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise AgentloopError(
                f"{what} on {host}:{actual_port} did not start within 10 s; "
                "check that the port is free"
            )
        time.sleep(0.005)
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{actual_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


SIGNING_KEY_ENV = "AGENTLOOP_EMULATOR_SIGNING_KEY"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (exit code 2), like the rest of the ``agentloop`` command."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number, 0 or more")
    return value


def _key(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty key: no request could use it; give a key")
    return text


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535; 0 = any free port)")
    return port


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _parser() -> argparse.ArgumentParser:
    from .emulator import DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_LOG_SIZE

    parser = _Parser(
        prog="agentloop emulator",
        description="Serve a local emulator of the Gemini Interactions API (no network, no "
        "real model). Point a client at http://HOST:PORT with any API key.",
        epilog="examples:\n  agentloop emulator --port 8080\n"
        "  GEMINI_BASE_URL=http://127.0.0.1:8080 GEMINI_API_KEY=any agentloop chat\n"
        "  agentloop emulator --port 0 --api-key secret   # a free port; one accepted key",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=8080, help="port (default 8080; 0 = any free port)"
    )
    parser.add_argument(
        "--model",
        default="demo",
        choices=["demo"],
        help="who answers (only the deterministic demo model)",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        type=_key,
        dest="api_keys",
        metavar="KEY",
        help="accept only this key (repeatable; default: any non-empty key)",
    )
    parser.add_argument(
        "--background-polls",
        type=_count,
        metavar="N",
        default=1,
        help="GETs a background interaction stays in_progress (default 1)",
    )
    parser.add_argument(
        "--signing-key",
        metavar="KEY",
        default=None,
        help=f"secret for thought signatures (default: ${SIGNING_KEY_ENV}, else a fixed "
        "built-in key, so a restarted server accepts the sessions of the last one)",
    )
    parser.add_argument(
        "--webhook-secret",
        metavar="WHSEC",
        default=None,
        help="the whsec_ secret webhook deliveries (webhook_config.uris, loopback only) are "
        "signed with (default: a fixed built-in secret, agentloop.testing."
        "DEFAULT_WEBHOOK_SECRET)",
    )
    parser.add_argument(
        "--context-window",
        type=_positive,
        metavar="TOKENS",
        default=None,
        help="answer 400 when a request's input tokens (stored chain included; "
        "ceil(chars/4) of each step's JSON) exceed TOKENS (default: no limit)",
    )
    parser.add_argument(
        "--allow-unknown-models",
        action="store_true",
        help="accept any model id or agent (default: unknown ones get the real API's 400)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=_positive,
        metavar="BYTES",
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"larger request bodies get 413 (default {DEFAULT_MAX_BODY_BYTES}, 20 MiB)",
    )
    parser.add_argument(
        "--request-log-size",
        type=_positive,
        metavar="N",
        default=DEFAULT_REQUEST_LOG_SIZE,
        help=f"authenticated requests kept in memory (default {DEFAULT_REQUEST_LOG_SIZE})",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        type=str.lower,
        choices=LOG_LEVELS,
        help="info (default) logs one access line per request; warning and above do not",
    )
    return parser


def _fail(message: str) -> int:
    print(f"agentloop emulator: error: {message}", file=sys.stderr)
    return 2


def _signing_key(given: str | None) -> tuple[bytes, str]:
    if given:
        return given.encode(), "--signing-key"
    env = os.environ.get(SIGNING_KEY_ENV, "")
    if env:
        return env.encode(), f"${SIGNING_KEY_ENV}"
    return DEFAULT_SIGNING_KEY, "built-in default"


def _access_log(level: str) -> None:
    from .asgi import ACCESS_LOGGER

    logger = logging.getLogger(ACCESS_LOGGER)
    if level not in ("info", "debug", "trace"):
        return
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    """``agentloop emulator [--host H] [--port P] [...]``; returns the exit code.

    Bad flags, a port in use and a missing ``[emulator]`` extra are one-line errors with
    exit code 2.
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as exc:
        return _fail(
            f"the emulator server needs the [emulator] extra ({exc.name} is missing): "
            "pip install 'agentloop[emulator]'"
        )

    from .emulator import Emulator

    key, key_source = _signing_key(args.signing_key)
    emulator = Emulator(
        api_keys=args.api_keys,
        background_polls=args.background_polls,
        signing_key=key,
        context_window=args.context_window,
        allow_unknown_models=args.allow_unknown_models,
        max_body_bytes=args.max_body_bytes,
        request_log_size=args.request_log_size,
        **({"webhook_secret": args.webhook_secret} if args.webhook_secret else {}),
    )
    try:
        sock = listen(args.host, args.port)
    except ConfigurationError as exc:
        return _fail(str(exc))
    _access_log(args.log_level)
    config = _config(emulator, args.log_level)
    config.host, config.port = args.host, args.port
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    window = f"; context window: {args.context_window}" if args.context_window else ""
    print(
        f"agentloop emulator on http://{shown}:{port} "
        f"(model: {args.model}; keys: {'restricted' if args.api_keys else 'any'}; "
        f"signing key: {key_source}{window}; not a real model)",
        file=sys.stderr,
        flush=True,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # Ctrl-C is how it stops: uvicorn has shut down already
    finally:
        sock.close()
    return 0
