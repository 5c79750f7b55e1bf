"""A process killed (SIGKILL) inside a sub-agent's tool: recovery finishes the parent's turn,
and no tool that had completed runs again. A real process and a real SQLite file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import call, say

from agentloop.testing import Emulator, FunctionModel

ROOT = Path(__file__).resolve().parents[2]


def env_for(api: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        GEMINI_API_KEY="crash-test-key",
        GEMINI_BASE_URL=api,
        **extra,
    )
    return env


def kill_when(proc: subprocess.Popen[str], ready: Callable[[], bool], what: str) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` (it must not end on its own before)."""
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            assert proc.poll() is None, "the process ended early"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def run_again(script: Path, db: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(script), str(db)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


SCRIPT = '''
import os, sys, time
from agentloop import Agent, tool
from agentloop.stores import SQLiteStore

def log(line):
    with open(os.environ["TOOL_LOG"], "a") as f:
        f.write(line + "\\n")

@tool
def fetch(url: str) -> str:
    """Fetch a page.

    Args:
        url: The page.
    """
    log("start fetch")
    log("end fetch")
    return "page text"

@tool(idempotent=True)
def summarize(text: str) -> str:
    """Summarize a text.

    Args:
        text: The text.
    """
    log("start summarize")
    if os.environ.get("HANG"):
        time.sleep(120)
    log("end summarize")
    return "short summary"

researcher = Agent("researcher", instructions="research", tools=[fetch, summarize])
lead = Agent("lead", instructions="lead", tools=[researcher.as_tool(context="fork")])
with SQLiteStore(sys.argv[1]) as store:
    conv = lead.conversation(store=store, id="crash")
    turn = conv.recover() if conv.needs_recovery else conv.send("investigate")
    print(turn.output_text)
'''


def model(request: Any) -> Any:
    last = request.history[-1]
    if request.system_instruction == "lead":
        if last.type == "function_result" and last.name == "researcher":
            return say(f"lead: {last.result}")
        return [call("researcher", "r1", task="read the page")]
    if last.type == "function_result" and last.name == "fetch":
        return [call("summarize", "s1", text=str(last.result))]
    if last.type == "function_result" and last.name == "summarize":
        return say(f"researcher: {last.result}")
    return [call("fetch", "f1", url="https://example.com")]


@pytest.mark.slow
def test_sigkill_inside_a_sub_agents_tool_recovers_without_repeating_work(tmp_path: Path) -> None:
    script = tmp_path / "team.py"
    script.write_text(SCRIPT)
    log = tmp_path / "tools.log"
    db = tmp_path / "team.db"
    emu = Emulator(FunctionModel(model))
    with emu.serve() as api:
        env = env_for(api, TOOL_LOG=str(log), HANG="1")
        proc = subprocess.Popen(
            [sys.executable, str(script), str(db)], env=env, stdout=subprocess.PIPE, text=True
        )
        started = lambda: "start summarize" in (log.read_text() if log.exists() else "")  # noqa: E731
        kill_when(proc, started, "the sub-agent's second tool")
        creates_before = len([r for r in emu.requests if r.method == "POST"])
        del env["HANG"]
        done = run_again(script, db, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "lead: researcher: short summary"
    lines = log.read_text().splitlines()
    assert lines.count("start fetch") == 1  # completed before the kill: never run again
    assert lines.count("start summarize") == 2  # cut short, idempotent: run again
    assert lines.count("end summarize") == 1
    # the recovery resent only what was in flight: the sub-agent's request after summarize
    # and the parent's final request
    assert len([r for r in emu.requests if r.method == "POST"]) == creates_before + 2


MANAGED_SCRIPT = """
import sys
from agentloop import Agent, ManagedAgent
from agentloop.stores import SQLiteStore

research = ManagedAgent("deep-research-pro-preview-12-2025", name="research")
lead = Agent("lead", instructions="lead", tools=[research])
with SQLiteStore(sys.argv[1]) as store:
    conv = lead.conversation(store=store, id="managed")
    turn = conv.recover() if conv.needs_recovery else conv.send("go")
    print(turn.output_text)
"""


def managed_model(request: Any) -> Any:
    if request.agent is not None:
        return say(f"report on {request.last_user_text}")
    last = request.history[-1]
    if last.type == "function_result":
        return say(f"lead: {last.result}")
    return [call("research", "m1", task="heat pumps")]


@pytest.mark.slow
def test_sigkill_while_waiting_on_a_managed_agent_resumes_the_same_interaction(
    tmp_path: Path,
) -> None:
    script = tmp_path / "managed.py"
    script.write_text(MANAGED_SCRIPT)
    db = tmp_path / "managed.db"
    emu = Emulator(FunctionModel(managed_model), background_polls=10**9)
    with emu.serve() as api:
        env = env_for(api)
        proc = subprocess.Popen([sys.executable, str(script), str(db)], env=env, text=True)
        polled = lambda: any(r.method == "GET" for r in list(emu.requests))  # noqa: E731
        kill_when(proc, polled, "the managed agent's first poll")
        (started,) = [i for i in emu.interaction_ids if emu.interaction(i).agent]
        emu.complete_all()  # the managed run finishes while nobody waits for it
        done = run_again(script, db, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "lead: report on heat pumps"
    managed = [i for i in emu.interaction_ids if emu.interaction(i).agent]
    assert managed == [started]  # waited on the same interaction: no second (paid) run
