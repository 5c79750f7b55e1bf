"""CLI habits a new user expects: extras named in one line, --otel, attachments, models,
sessions search, honest --resume wording, warnings that prevent double work."""

from __future__ import annotations

import base64
import http.server
import json
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import CLI

from agentloop import Conversation, tool
from agentloop.errors import MissingToolsWarning

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
WEATHER = '''
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 19}
'''


# --- a missing extra is one line naming the pip install --------------------------------------


@pytest.mark.parametrize(
    ("argv", "module", "extra"),
    [
        (["worker"], "dbos", "durable"),
        (["submit", "hello"], "dbos", "durable"),
        (["tasks"], "dbos", "durable"),
        (["serve"], "uvicorn", "web"),
        (["mcp", "serve", "--tools", "x.py"], "mcp", "mcp"),
        (["run", "hi", "--otel", "console"], "opentelemetry", "otel"),
        (["chat", "--store", "postgresql://u:p@127.0.0.1:1/x"], "psycopg", "postgres"),
    ],
)
def test_a_missing_extra_says_which_pip_install_in_one_line(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, argv: list[str], module: str, extra: str
) -> None:
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    proc = cli(*argv)
    assert proc.returncode in (1, 2), proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert f"pip install 'agentloop[{extra}]'" in lines[-1], proc.stderr
    assert "Traceback" not in proc.stderr


# --- --otel -----------------------------------------------------------------------------------


def test_otel_console_prints_the_turns_spans_on_stderr(cli: CLI) -> None:
    (cli.home / "w.py").write_text(WEATHER)
    proc = cli("run", "Weather in Oslo?", "--tools", "w.py", "--otel", "console")
    assert proc.returncode == 0, proc.stderr
    assert '"name": "execute_tool get_weather"' in proc.stderr
    assert '"service.name": "agentloop-run"' in proc.stderr
    assert proc.stdout.strip().endswith('"temperature": 19}.')  # stdout stays the answer


class _Collector(http.server.BaseHTTPRequestHandler):
    bodies: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.bodies.append((self.path, self.headers.get("Content-Type") or "", body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


Collected = tuple[str, list[tuple[str, str, bytes]]]


@pytest.fixture
def collector() -> Iterator[Collected]:
    _Collector.bodies = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Collector.bodies
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_otel_exports_over_otlp_to_the_standard_endpoint(
    cli: CLI,
    monkeypatch: pytest.MonkeyPatch,
    collector: tuple[str, list[tuple[str, str, bytes]]],
    how: str,
) -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    url, bodies = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    (cli.home / "w.py").write_text(WEATHER)
    flags = ["--otel"] if how == "flag" else []
    proc = cli("run", "Weather in Oslo?", "--tools", "w.py", *flags)
    assert proc.returncode == 0, proc.stderr
    assert bodies, "no spans reached the collector"
    path, content_type, body = bodies[0]
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    assert b"execute_tool get_weather" in body and b"agentloop-run" in body


def test_otel_traces_exporter_none_keeps_tracing_off(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    proc = cli("run", "hello")
    assert proc.returncode == 0 and "span" not in proc.stderr.lower()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    bad = cli("run", "hello")
    assert bad.returncode == 2 and "OTEL_TRACES_EXPORTER" in bad.stderr


@pytest.mark.parametrize("command", ["chat", "run", "serve", "worker"])
def test_otel_is_offered_by_the_long_running_commands(cli: CLI, command: str) -> None:
    proc = cli(command, "--help")
    assert "--otel" in proc.stdout and "OTEL_EXPORTER_OTLP_ENDPOINT" in proc.stdout


# --- attachments ------------------------------------------------------------------------------


def test_run_attaches_files_to_the_task(cli: CLI) -> None:
    (cli.home / "photo.png").write_bytes(PNG)
    proc = cli("run", "Describe this image", "-a", "photo.png")
    assert proc.returncode == 0, proc.stderr
    assert "task: Describe this image + 1 attached file" in proc.stderr
    assert "(with 1 image/png file attached)" in proc.stdout
    missing = cli("run", "Describe", "--attach", "nope.pdf")
    assert missing.returncode == 2 and "cannot attach 'nope.pdf'" in missing.stderr
    (cli.home / "page.html").write_bytes(b"x")
    (cli.home / "noext").write_bytes(b"x")
    for name, why in (
        ("page.html", "the API takes no text/html files"),  # the API refuses the type
        ("noext", "give it an extension"),
        (".", "it is a folder"),
    ):
        refused = cli("run", "Describe", "-a", name)
        assert refused.returncode == 2 and why in refused.stderr, refused.stderr
    (cli.home / "clip.wav").write_bytes(b"RIFF")
    sent = cli("run", "Describe", "-a", "clip.wav")  # the API's name, not audio/x-wav
    assert sent.returncode == 0 and "(with 1 audio/wav file attached)" in sent.stdout


def test_chat_attaches_with_the_flag_and_with_slash_attach(cli: CLI) -> None:
    (cli.home / "photo.png").write_bytes(PNG)
    (cli.home / "report.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    script = "Look at this\n/attach report.pdf\n/attach\nAnd this\nno files now\n/attach x.bin\n"
    proc = cli("chat", "-a", "photo.png", stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "attached photo.png (image/png) to your next message" in out
    assert "You said: Look at this (with 1 image/png file attached)" in out
    assert "attached to your next message: report.pdf" in out
    assert "You said: And this (with 1 application/pdf file attached)" in out
    assert "You said: no files now I am" in out
    assert "cannot attach 'x.bin'" in out


# --- models, sessions search --------------------------------------------------------------------


def test_models_lists_the_known_model_and_agent_ids(cli: CLI) -> None:
    proc = cli("models")
    assert proc.returncode == 0
    assert "  gemini-3.5-flash  (default)" in proc.stdout
    assert "deep-research-preview-04-2026" in proc.stdout
    data = json.loads(cli("models", "--json").stdout)
    assert data["default_model"] == "gemini-3.5-flash" and "gemma-4-31b-it" in data["models"]
    assert "antigravity-preview-05-2026" in data["agents"]


def test_sessions_search_finds_the_sessions_that_mention_a_text(cli: CLI) -> None:
    cli("chat", "--session", "invoices", stdin="Send the invoice to ACME\n")
    cli("chat", "--session", "dogs", stdin="I have 2 dogs\n")
    proc = cli("sessions", "search", "INVOICE")
    assert proc.returncode == 0, proc.stderr
    assert "1 session mentions 'INVOICE'" in proc.stdout
    assert "invoices" in proc.stdout and "[0] you: Send the invoice to ACME" in proc.stdout
    assert "dogs" not in proc.stdout
    rows = json.loads(cli("sessions", "search", "dogs", "--json").stdout)
    assert [r["id"] for r in rows] == ["dogs"]
    none = cli("sessions", "search", "zebra")
    assert none.returncode == 1 and "no session mentions 'zebra'" in none.stdout
    assert "bundled offline emulator" not in proc.stderr + none.stderr  # reading sends nothing


# --- resume wording -----------------------------------------------------------------------------


def test_yes_help_says_what_runs_again() -> None:
    from agentloop.cli import _parser

    run = _parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    text = " ".join(run.format_help().split())
    assert "they run again, a second time if they had finished" in text
    assert "calls with a journaled result are never run again" in text


# --- warnings ---------------------------------------------------------------------------------


@tool
def get_weather(city: str) -> dict[str, object]:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city}


@tool
def send_invoice(to: str) -> str:
    """Send an invoice."""
    return "sent"


def test_loading_without_the_saved_tools_warns_once_with_their_names(tmp_path: Path) -> None:
    conv = Conversation(tools=[get_weather, send_invoice])
    conv.send("hello")
    conv.save(tmp_path / "c.json")
    with pytest.warns(MissingToolsWarning) as caught:
        Conversation.load(tmp_path / "c.json", tools=[get_weather])
    assert len(caught) == 1
    assert caught[0].filename == __file__  # it points at the caller's line
    assert "send_invoice" in str(caught[0].message) and "get_weather" not in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Conversation.load(tmp_path / "c.json", tools=[get_weather, send_invoice])  # no warning


def test_chat_resumed_with_other_tools_warns_once_with_the_missing_names(cli: CLI) -> None:
    (cli.home / "w.py").write_text(WEATHER)
    (cli.home / "other.py").write_text("def ping() -> str:\n    return 'pong'\n")
    cli("chat", "--session", "s", "--tools", "w.py", stdin="hi\n")
    proc = cli("chat", "--session", "s", "--tools", "other.py", stdin="hello again\n")
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if "warning:" in line]
    assert len(warned) == 1 and "get_weather" in warned[0] and "ping" not in warned[0]
    assert warned[0].startswith("agentloop chat: warning: conversation 's' was saved with tools")
