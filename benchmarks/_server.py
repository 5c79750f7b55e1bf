"""A loopback server that answers every ``POST /{ver}/interactions`` with canned bytes.

Run as a subprocess (``python benchmarks/_server.py``): it prints its port on stdout and
serves until stdin closes. It is uvicorn with a bare ASGI app, so the server does as little
as possible per request and the client's cost dominates the figures. The reply bytes are
the emulator's own (see ``_payloads``); a stream (``alt=sse``) replays emulator SSE frames.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _payloads


def make_app() -> Any:
    reply = _payloads.reply_json()
    frames = b"".join(_payloads.sse_frames())
    json_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(reply)).encode()),
    ]
    sse_headers = [
        (b"content-type", b"text/event-stream"),
        (b"content-length", str(len(frames)).encode()),
    ]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:  # drain the request body
            message = await receive()
            more = message.get("more_body", False)
        stream = b"alt=sse" in scope.get("query_string", b"")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": sse_headers if stream else json_headers,
            }
        )
        await send({"type": "http.response.body", "body": frames if stream else reply})

    return app


def main() -> None:
    import uvicorn

    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on sockets that say they are TCP;
    # without it the response body waits ~40 ms for a delayed ACK of its headers.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(make_app(), log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)

    def watch_stdin() -> None:
        sys.stdin.read()  # returns when the parent closes our stdin (or exits)
        server.should_exit = True

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(sock.getsockname()[1], flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
