"""``agentloop serve`` in a subprocess: the page, the AG-UI endpoint, the token rule."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from _http import http_client
from cli_helpers import offline_env

TOOLS = '''
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 17}
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(url: str, proc: subprocess.Popen[str], headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 30
    with http_client(timeout=1) as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                if http.get(url + "/api/info", headers=headers).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
    raise AssertionError("agentloop serve did not come up")


def test_serve_smoke_in_a_subprocess(tmp_path: Path) -> None:
    (tmp_path / "weather.py").write_text(TOOLS)
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentloop",
            "serve",
            "--tools",
            "weather.py",
            "--port",
            str(port),
            "--token",
            "s3cret",
        ],
        cwd=tmp_path,
        env=offline_env(tmp_path),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": "Bearer s3cret"}
    http = http_client(timeout=30)
    try:
        _wait_up(url, proc, auth)
        page = http.get(url + "/")
        assert page.status_code == 200 and "<textarea" in page.text
        assert http.get(url + "/api/sessions").status_code == 401  # the token is required
        info = http.get(url + "/api/info", headers=auth).json()
        assert info["offline"] is True and info["tools"][0]["name"] == "get_weather"
        body = {
            "threadId": "smoke",
            "runId": "r1",
            "messages": [{"id": "m1", "role": "user", "content": "Weather in Oslo?"}],
        }
        events = []
        with http.stream("POST", url + "/agui", json=body, headers=auth) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
        kinds = [e["type"] for e in events]
        assert kinds[0] == "RUN_STARTED" and kinds[-1] == "RUN_FINISHED"
        result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
        assert json.loads(result["content"]) == {"city": "Oslo", "temperature": 17}
    finally:
        http.close()
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "Offline" in err and f"http://127.0.0.1:{port}/" in err
    assert (tmp_path / "sessions.db").is_file()
