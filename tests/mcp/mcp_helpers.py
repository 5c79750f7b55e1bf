"""Helpers for the MCP tests: real servers (``mcp_test_server.py``) over stdio and HTTP."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _http import serve

from agentloop.mcp import MCPToolset
from agentloop.testing import Emulator

HERE = Path(__file__).parent
SERVER = str(HERE / "mcp_test_server.py")


def call(name: str, call_id: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "id": call_id, "name": name, "arguments": arguments}


def bodies(emu: Emulator) -> list[dict[str, Any]]:
    """The JSON bodies of every create request the emulator received."""
    return [r.json for r in emu.requests if r.method == "POST" and r.path.endswith("/interactions")]


def results_sent(emu: Emulator, index: int = -1) -> dict[str, dict[str, Any]]:
    """The function_result steps of one create request the emulator received, by call id."""
    body = bodies(emu)[index]
    return {s["call_id"]: s for s in body["input"] if s.get("type") == "function_result"}


def stdio_toolset(**options: Any) -> MCPToolset:
    return MCPToolset.stdio(sys.executable, [SERVER], **options)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve_http() -> Iterator[str]:
    """The test server (``build()``) over streamable HTTP on a free loopback port, served by
    uvicorn in a thread of this process (a server process costs ~0.7 s of CPU to start; the
    stdio tests and the slow stopped-server test run real server processes); yields its URL."""
    from mcp_test_server import build

    with serve(build().streamable_http_app()) as base:
        yield base + "/mcp"


def start_http_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, SERVER, "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the HTTP test server exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("the HTTP test server did not listen within 20 s")
    return proc, f"http://127.0.0.1:{port}/mcp"


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
