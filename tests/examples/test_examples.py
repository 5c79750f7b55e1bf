"""Every example runs offline (in-process emulator) and on the real-API code path.

The real-API path sets ``GEMINI_API_KEY`` and points ``GEMINI_BASE_URL`` at a loopback
emulator server, so ``agentloop.Client()`` is used exactly as with Google's endpoint. The
examples run in-process (``runpy``, as ``python examples/x.py`` would run them); one slow
smoke test runs a script in a real subprocess.
"""

from __future__ import annotations

import importlib
import io
import os
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentloop import Client
from agentloop.testing import Emulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))

CHAT_INPUT = (
    "I have 2 dogs in my house.\nWhat is the weather in Rome?\n/stateless\n"
    "How many paws are in my house?\n"
)

# What each example must print (the demo model is deterministic; checked by content).
EXPECT: dict[str, list[str]] = {
    "quickstart.py": ["(agentloop emulator)", ": completed,"],
    "system_instruction.py": ["I am Neko", "With generation_config:"],
    "streaming.py": ["text chunks; the assembled interaction is completed"],
    "stateful_chat.py": [
        "Response 2: (agentloop emulator) There are 8 paws",
        "Response 3: (agentloop emulator) You told me about 2 dogs.",
    ],
    "stateless_chat.py": ["Response 2: (agentloop emulator) There are 8 paws", "carried 4 steps"],
    "multimodal_input.py": ["Sent sample.png", "(agentloop emulator)"],
    "image_generation.py": ["Saved image/png image to"],
    "structured_output.py": ["recipe_name=", "ingredients=["],
    "search_tool.py": ["google_search_call", "Citations:", "](https://example.com/"],
    "function_calling.py": [
        "[stateful]",
        "[stateless]",
        "Called get_current_temperature({'location': 'London'})",
    ],
    "managed_agent.py": ["Environment: env_", "code_execution_call"],
    "background.py": ["Status: in_progress", "Status: completed", "Result:"],
    "chatbot.py": [
        "[calling get_weather({'city': 'Rome'})]",
        "(strategy: stateless)",
        "There are 8 paws",
        "bye (",
    ],
    "mcp_tools.py": [
        "Tools: packing_list, weather_get_forecast, weather_to_fahrenheit",
        "Called weather_get_forecast({'city': 'Paris'}) -> {'city': 'Paris'",
        "'sky': 'sunny'",
        "MCP server stopped: MCPToolset(",
        ", closed)",
    ],
    "a2a_agents.py": [
        "Remote tool: weather - Knows the weather of any city.",
        "Called weather({'task': 'Lisbon'}) -> ",
        "Remote task states: submitted -> working -> completed",
    ],
    "research_team.py": [
        "[triage calls researcher]",
        "[triage calls deep_research]",
        "Agent deep-research-pro-preview-12-2025 worked on the task",
        "[handoff: triage -> writer]",
        "[writer calls draft_article]",
        "In charge: writer;",
    ],
    "time_travel.py": [
        "Paws: (agentloop emulator) There are 20 paws",
        "turn 1: 'I have 3 cats too.' (interaction ",
        "Fork: (agentloop emulator) There are 12 paws",
        "Replayed turn 1: I have 1 parrot.",
        "Original after rewind: ['I have 2 dogs in my house.', 'I have 3 cats too.']",
    ],
    "task_loop.py": [
        "-> check_stock({'item': 'Apples'})",
        "<- {'item': 'plums', 'in_stock': 7}",
        "Final answer (completed, 2 tool calls):",
    ],
}


def test_every_example_has_expectations() -> None:
    assert sorted(EXPECT) == SCRIPTS


def _run(script: str, cwd: Path, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GEMINI_BASE_URL")
    }
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        input=CHAT_INPUT if script == "chatbot.py" else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=cwd,
        timeout=60,
    )


def _run_inline(
    script: str, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """Run an example in this process as ``python examples/<script>`` would; its stdout."""
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("AGENTLOOP_EXAMPLE_POLL_SECONDS", "0")
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / script)])
    monkeypatch.setattr(sys, "stdin", io.StringIO(CHAT_INPUT if script == "chatbot.py" else ""))
    for name in [m for m in sys.modules if m.startswith("_backend") or m.startswith("_tools")]:
        monkeypatch.delitem(sys.modules, name)
    # A script's process ends after it and takes its connections along; this one goes on, so
    # the clients the script got from ``_backend.client()`` are closed after it.
    backend = importlib.import_module("_backend")  # the module the script imports
    made = backend.client
    opened: list[Client] = []

    def client() -> Client:
        opened.append(made())
        return opened[-1]

    monkeypatch.setattr(backend, "client", client)
    try:
        runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    finally:
        for each in opened:
            each.close()
    return capsys.readouterr().out


# mcp_tools.py starts a real stdio MCP server (~1.5 s of CPU): the slow suite runs it; the
# default suite's real stdio server is tests/mcp/test_stdio.py's.
OFFLINE = [pytest.param(s, marks=pytest.mark.slow) if s == "mcp_tools.py" else s for s in SCRIPTS]


@pytest.mark.parametrize("script", OFFLINE)
def test_example_runs_offline(
    script: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _run_inline(script, tmp_path, monkeypatch, capsys)
    lines = out.splitlines()
    assert lines[0] == (
        "(offline: GEMINI_API_KEY is not set, so this runs on the bundled agentloop emulator)"
    )
    for needle in EXPECT[script]:
        assert needle in out, (needle, out)
    if script == "image_generation.py":
        assert (tmp_path / "generated_image.png").read_bytes().startswith(b"\x89PNG")


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    with Emulator(api_keys={"example-key"}).serve() as url:
        yield url


# Every example once on the real-client path too, but mcp_tools.py: its MCP server process is
# the same on both paths, and the offline run (above) already drives it.
REAL_PATH = [s for s in SCRIPTS if s != "mcp_tools.py"]


@pytest.mark.parametrize("script", REAL_PATH)
def test_example_runs_on_the_real_client_path(
    script: str,
    tmp_path: Path,
    api_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "example-key")
    monkeypatch.setenv("GEMINI_BASE_URL", api_url)
    out = _run_inline(script, tmp_path, monkeypatch, capsys)
    assert "(offline: GEMINI_API_KEY is not set" not in out
    for needle in EXPECT[script]:
        assert needle in out, (needle, out)


@pytest.mark.slow
def test_an_example_runs_as_a_script_in_a_subprocess(tmp_path: Path, api_url: str) -> None:
    """One real ``python examples/chatbot.py`` (stdin, the real-client path, exit code): the
    in-process runs above cover every example on both paths."""
    real = _run(
        "chatbot.py",
        tmp_path,
        GEMINI_API_KEY="example-key",
        GEMINI_BASE_URL=api_url,
        AGENTLOOP_EXAMPLE_POLL_SECONDS="0",
    )
    assert real.returncode == 0, real.stderr
    for needle in EXPECT["chatbot.py"]:
        assert needle in real.stdout


def test_sample_image_is_small_and_a_png() -> None:
    data = (EXAMPLES / "data" / "sample.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) < 5000
