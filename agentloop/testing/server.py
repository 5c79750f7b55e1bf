"""Loopback serving: ``serve()`` for tests and ``main()`` for ``agentloop emulator``.

starlette and uvicorn are imported inside the functions so importing this module is cheap.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["main", "serve"]


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
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


@contextlib.contextmanager
def serve(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``emulator`` on a loopback uvicorn server in a thread; yield its base URL."""
    import uvicorn

    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(emulator, "warning"))
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name=f"agentloop-emulator-{actual_port}",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the emulator server on {host}:{actual_port} did not start")
        time.sleep(0.005)
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{actual_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def main(argv: list[str] | None = None) -> int:
    """``agentloop emulator --host H --port P [--model demo] [--api-key KEY ...]``."""
    parser = argparse.ArgumentParser(
        prog="agentloop emulator",
        description="Serve a local emulator of the Gemini Interactions API (no network, no "
        "real model). Point a client at http://HOST:PORT with any API key.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any)")
    parser.add_argument(
        "--model",
        default="demo",
        choices=["demo"],
        help="who answers (only the deterministic demo model)",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept only this key (repeatable; default: any non-empty key)",
    )
    parser.add_argument(
        "--background-polls",
        type=int,
        default=1,
        help="GETs a background interaction stays in_progress (default 1)",
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    import uvicorn

    from .emulator import Emulator

    emulator = Emulator(api_keys=args.api_keys, background_polls=args.background_polls)
    config = _config(emulator, args.log_level)
    config.host, config.port = args.host, args.port
    sock = _bind(args.host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"agentloop emulator on http://{shown}:{port} "
        f"(model: {args.model}; keys: {'restricted' if args.api_keys else 'any'}; "
        "not a real model)",
        file=sys.stderr,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0
