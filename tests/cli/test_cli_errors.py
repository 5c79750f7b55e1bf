"""Bad input: one clear line on stderr, exit code 2, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from cli_helpers import CLI

FILES = {
    "syntax.py": "def broken(:\n    pass\n",
    "missing_import.py": "import agentloop_no_such_module_xyz\n",
    "raises.py": "raise RuntimeError('tools file refuses to load')\n",
    "undeclarable.py": "class Opaque:\n    pass\n\n\ndef use(thing: Opaque) -> int:\n"
    "    return 1\n",
    "empty.py": "VALUE = 1\n",
}

CASES = [
    (["chat", "--model", "Not A Model!"], "--model 'Not A Model!' is not a model id"),
    (["run", "task", "--model", "gpt 4"], "is not a model id"),
    (["demo", "--model", "BAD MODEL"], "is not a model id"),
    (["chat", "--strategy", "sideways"], "invalid choice: 'sideways'"),
    (["run", "task", "--tools", "{tmp}/syntax.py"], "does not import: SyntaxError"),
    (
        ["run", "task", "--tools", "{tmp}/missing_import.py"],
        "does not import: ModuleNotFoundError: No module named 'agentloop_no_such_module_xyz'",
    ),
    (
        ["chat", "--tools", "{tmp}/raises.py"],
        "does not import: RuntimeError: tools file refuses to load",
    ),
    (["run", "task", "--tools", "{tmp}/undeclarable.py"], "a tool cannot be declared"),
    (["run", "task", "--tools", "{tmp}/empty.py"], "defines no @tool functions"),
    (["run", "task", "--tools", "{tmp}/nowhere.py"], "no such file"),
    (["run", "task", "--tools", "no_such_module_abc"], "neither a file nor an importable module"),
    (["demo", "--real"], "--real needs an API key: set GEMINI_API_KEY"),
    (["run", "task", "--real"], "--real needs an API key"),
    (["run", "task", "--max-steps", "0"], "--max-steps must be at least 1"),
    (["run", "task", "--max-steps", "many"], "invalid int value: 'many'"),
    (["run"], "TASK is missing"),
    (["demo", "--real", "--offline"], "not allowed with argument"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["run", "task", "--temperature", "7"], "--temperature must be between 0 and 2"),
    (["run", "task", "-o", "nonsense"], "expected KEY=VALUE"),
    (["chat", "-o", "colour=red"], "-o colour: not a generation_config field"),
    (["chat", "--thinking-level", "lots"], "invalid choice: 'lots'"),
    (["chat", "-c", "--session", "x"], "not allowed with argument"),
    (["sessions", "show"], "sessions show needs at least one session ID"),
    (["sessions", "delete", "nope"], "no session 'nope'"),
    (["serve", "--host", "0.0.0.0"], "pass --token SECRET too"),
    (["serve", "--port", "70000"], "--port must be between 0 and 65535"),
]


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_line_and_exit_2(cli: CLI, argv: list[str], message: str) -> None:
    for name, text in FILES.items():
        (cli.home / name).write_text(text)
    argv = [a.replace("{tmp}", str(cli.home)) for a in argv]
    proc = cli(*argv, stdin="hello\n")
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert lines[0].startswith("agentloop")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_reader_that_leaves_early_ends_the_command_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``agentloop sessions | head``: the pipe closes; no traceback, the SIGPIPE exit code."""
    import agentloop.cli as cli

    def writes_to_a_closed_pipe(args: Any) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "_handler", lambda command: writes_to_a_closed_pipe)
    assert cli.main(["models"]) == 141
    assert "Traceback" not in capsys.readouterr().err


def test_reading_tasks_never_creates_a_task_database(cli: CLI) -> None:
    typo = cli.home / "tpyo" / "tasks.sqlite"
    for argv in (["tasks", "--db", str(typo)], ["tasks", "show", "t1", "--db", str(typo)]):
        result = cli(*argv)
        assert result.returncode == 2 and "no task database at" in result.stderr
    assert not typo.parent.exists()
    listing = cli("tasks")  # the default database, not made yet: an empty list, said so
    assert listing.returncode == 0 and "no tasks (no task database at" in listing.stdout
    assert not (cli.home / "agentloop-tasks.sqlite").exists()


def test_a_setting_that_cannot_work_is_a_usage_error(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    monkeypatch.setenv("GEMINI_BASE_URL", "notaurl")
    result = cli("run", "hi")
    assert result.returncode == 2 and "agentloop run: error: the API base URL" in result.stderr


def test_a_worker_whose_task_database_cannot_be_opened_says_so_in_one_line(cli: CLI) -> None:
    pytest.importorskip("psycopg")
    pytest.importorskip("dbos")
    (cli.home / "tools.py").write_text("def noop() -> str:\n    return 'ok'\n")
    url = "postgresql://u:secretpw@127.0.0.1:1/db"  # nothing listens on port 1
    result = cli("worker", "--db", url, "--tools", "tools.py")
    assert result.returncode == 1 and "cannot open the task database" in result.stderr
    assert "Traceback" not in result.stderr and "secretpw" not in result.stderr


def test_submitting_an_id_again_with_another_text_warns(cli: CLI) -> None:
    pytest.importorskip("dbos")
    db = str(cli.home / "tasks.sqlite")
    first = cli("submit", "refund order 7", "--db", db, "--id", "r7")
    assert first.returncode == 0 and first.stdout.strip() == "r7"
    same = cli("submit", "refund order 7", "--db", db, "--id", "r7")
    assert same.returncode == 0 and "warning" not in same.stderr
    other = cli("submit", "refund order 8", "--db", db, "--id", "r7")
    assert other.returncode == 0 and other.stdout.strip() == "r7"
    assert "already exists with another text ('refund order 7')" in other.stderr
