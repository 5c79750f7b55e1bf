"""``agentloop eval``: report, JSON, repeats, concurrency, baselines, --fail-under exit codes,
recordings, export from a journaled session, and one-line errors for bad input."""

from __future__ import annotations

import gc
import json
import warnings
from pathlib import Path

import pytest
from _lazy import require
from cli_helpers import CLI

# Checked without importing them (pydantic-evals loads in the worker that runs these tests).
require("pydantic_evals", reason="agentloop[evals] is not installed")
require("vcr", reason="agentloop[recordings] is not installed")

TRAVEL = Path(__file__).resolve().parent.parent / "evals" / "travel_agent.py"
AGENT = f"{TRAVEL}:travel_offline"

PASSING = """\
cases:
  - name: trip
    inputs: Plan a trip to Paris
    evaluators:
      - ToolTrajectory: [get_weather, book_hotel]
      - MaxRequests: 3
"""
FAILING = (
    PASSING
    + """\
  - name: wrong_tool
    inputs: What is the weather in Rome?
    evaluators:
      - ToolCalled: book_hotel
"""
)

WEATHER = '''\
from agentloop import Agent, tool


@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 17}


weather_agent = Agent("weather", instructions="Answer briefly.", tools=[get_weather])
'''


def write(cli: CLI, name: str, text: str) -> Path:
    path = cli.home / name
    path.write_text(text)
    return path


def test_a_passing_dataset_prints_the_report_and_exits_0(cli: CLI) -> None:
    write(cli, "ok.yaml", PASSING)
    result = cli("eval", "ok.yaml", "--agent", AGENT, "--concurrency", "2")
    assert result.returncode == 0, result.stderr
    assert "Evaluation Summary" in result.stdout and "trip" in result.stdout
    assert "requests: 3" in result.stdout
    assert "pass rate: 100.0% (1/1 runs; fail under 100%)" in result.stdout


def test_fail_under_sets_the_exit_code_and_json_records_each_case(cli: CLI) -> None:
    write(cli, "mixed.yaml", FAILING)
    result = cli("eval", "mixed.yaml", "--agent", AGENT, "--json", "out.json")
    assert result.returncode == 1
    assert "FAILED wrong_tool: ToolCalled: expected a call book_hotel" in result.stdout
    data = json.loads((cli.home / "out.json").read_text())
    assert data["pass_rate"] == 0.5
    trip, wrong = data["cases"]
    assert {"name", "passed", "scores", "assertions", "duration", "requests"} <= set(trip)
    assert trip["passed"] is True and trip["requests"] == 3
    assert wrong["passed"] is False and wrong["assertions"] == {"ToolCalled": False}
    assert cli("eval", "mixed.yaml", "--agent", AGENT, "--fail-under", "0.5").returncode == 0
    assert cli("eval", "mixed.yaml", "--agent", AGENT, "--fail-under", "60%").returncode == 1
    bad = cli("eval", "mixed.yaml", "--agent", AGENT, "--fail-under", "2")
    assert bad.returncode == 2 and "is not a pass rate" in bad.stderr


def test_repeat_reports_runs_and_pass_rates(cli: CLI) -> None:
    write(cli, "ok.yaml", PASSING)
    result = cli("eval", "ok.yaml", "--agent", AGENT, "--repeat", "3", "--json", "r.json")
    assert result.returncode == 0, result.stderr
    (case,) = json.loads((cli.home / "r.json").read_text())["cases"]
    assert case["runs"] == 3 and case["pass_rate"] == 1.0
    assert "(3/3 runs" in result.stdout


def test_baseline_prints_what_got_better_or_worse(cli: CLI) -> None:
    write(cli, "mixed.yaml", FAILING)
    assert cli("eval", "mixed.yaml", "--agent", AGENT, "--json", "old.json").returncode == 1
    write(cli, "mixed.yaml", FAILING.replace("ToolCalled: book_hotel", "ToolCalled: get_weather"))
    result = cli("eval", "mixed.yaml", "--agent", AGENT, "--baseline", "old.json")
    assert result.returncode == 0
    assert "pass rate: 50% -> 100% (+50%)" in result.stdout
    assert "  better: wrong_tool: now passes" in result.stdout
    assert "worse:" not in result.stdout


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        (
            {"d.yaml": "cases:\n  - name: a\n    inputs: x\n    evaluators: [Nope]\n"},
            ["d.yaml", "--agent", AGENT],
            "d.yaml:4: cases[0] 'a' evaluators[0]: unknown evaluator 'Nope'; known: ",
        ),
        (
            {"d.yaml": "cases:\n  - name: a\n    inputs: x\n  - inputs\n"},
            ["d.yaml", "--agent", AGENT],
            "d.yaml:4: cases[1]: a case is a mapping with 'inputs'",
        ),
        (
            {"d.yaml": PASSING},
            ["d.yaml", "--agent", f"{TRAVEL}:nope"],
            "travel_agent.py has no attribute 'nope' (it defines: ",
        ),
        ({"d.yaml": PASSING}, ["d.yaml", "--agent", "travel"], "expected FILE.py:NAME"),
        ({"d.yaml": PASSING}, ["d.yaml"], "eval needs --agent FILE.py:NAME"),
        ({}, ["missing.yaml", "--agent", AGENT], "missing.yaml: no such dataset file"),
        (
            {"d.yaml": PASSING},
            ["d.yaml", "--agent", AGENT, "--json", "nowhere/r.json"],
            "--json 'nowhere/r.json': cannot write there",
        ),
        (
            {"d.yaml": PASSING, "old.json": "[]"},
            ["d.yaml", "--agent", AGENT, "--baseline", "old.json"],
            "old.json: not eval results",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_file_and_place(
    cli: CLI, files: dict[str, str], argv: list[str], message: str
) -> None:
    for name, text in files.items():
        write(cli, name, text)
    result = cli("eval", *argv)
    assert result.returncode == 2
    assert result.stderr.startswith("agentloop eval: error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_export_a_journaled_session_into_a_case_that_passes(cli: CLI) -> None:
    write(cli, "weather.py", WEATHER)
    ran = cli("run", "What is the weather in Paris?", "--tools", "weather.py", "--session", "s1")
    assert ran.returncode == 0, ran.stderr
    shown = cli("eval", "export", "--session", "s1")
    assert shown.returncode == 0, shown.stderr
    assert "inputs: What is the weather in Paris?" in shown.stdout
    assert "- ToolTrajectory:" in shown.stdout and "city: Paris" in shown.stdout
    written = cli("eval", "export", "--session", "s1", "-o", "cases.yaml")
    assert written.returncode == 0 and "added case 's1' in cases.yaml" in written.stderr
    result = cli("eval", "cases.yaml", "--agent", "weather.py:weather_agent", "--json", "e.json")
    assert result.returncode == 0, result.stdout + result.stderr
    (case,) = json.loads((cli.home / "e.json").read_text())["cases"]
    assert case["name"] == "s1" and case["assertions"] == {"ToolTrajectory": True}
    missing = cli("eval", "export", "--session", "nope")
    assert missing.returncode == 2 and "no session 'nope'" in missing.stderr


def test_cassettes_record_each_case_once_then_replay_with_no_key(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentloop.testing import Emulator

    write(cli, "weather.py", WEATHER)
    write(
        cli,
        "w.yaml",
        "cases:\n  - name: paris\n    inputs: What is the weather in Paris?\n    evaluators:\n"
        "      - ToolCalled: {name: get_weather, args: {city: Paris}}\n"
        "      - Judge: Says what the weather is\n",
    )
    argv = ["eval", "w.yaml", "--agent", "weather.py:weather_agent", "--cassettes", "tapes"]
    emulator = Emulator(api_keys=["live-key-0123456789"])
    with emulator.serve() as url, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        monkeypatch.setenv("GEMINI_BASE_URL", url)
        monkeypatch.setenv("GEMINI_API_KEY", "live-key-0123456789")
        recorded = cli(*argv, "--json", "rec.json")
        assert recorded.returncode in (0, 1), recorded.stderr
        assert "recording 1 case" in recorded.stderr
        gc.collect()
    # The command closed the client it made, in the event loop its connections belonged to.
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
    live_requests = len(emulator.requests)
    assert live_requests == 3  # two for the agent, one for the judge
    tape = (cli.home / "tapes" / "paris.yaml").read_text()
    assert "live-key-0123456789" not in tape and "x-goog-api-key" not in tape
    monkeypatch.delenv("GEMINI_API_KEY")
    replayed = cli(*argv, "--json", "rep.json")
    assert "replaying recordings" in replayed.stderr
    assert replayed.returncode == recorded.returncode
    rec = json.loads((cli.home / "rec.json").read_text())["cases"][0]
    rep = json.loads((cli.home / "rep.json").read_text())["cases"][0]
    assert rep["assertions"] == rec["assertions"] and rep["scores"] == rec["scores"]
    assert rep["assertions"]["ToolCalled"] is True
    assert len(emulator.requests) == live_requests  # nothing reached a server
    changed = (cli.home / "w.yaml").read_text().replace("in Paris?", "in Paris, please?")
    write(cli, "w.yaml", changed)  # the same case asks something else now
    stale = cli(*argv)
    assert stale.returncode == 1
    assert "FAILED paris: a request is not in the case's recording" in stale.stdout
    assert "delete the case's cassette file" in stale.stdout and "record_mode" not in stale.stdout
    write(cli, "w.yaml", (cli.home / "w.yaml").read_text().replace("paris", "rome"))
    unrecorded = cli(*argv)
    assert unrecorded.returncode == 2
    assert (
        "case 'rome' has no recording in tapes and GEMINI_API_KEY is not set" in unrecorded.stderr
    )


def test_the_weather_example_dataset_passes_offline(cli: CLI) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "evals"
    result = cli(
        "eval",
        str(examples / "weather.yaml"),
        "--agent",
        f"{examples / 'weather_agent.py'}:weather_agent",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pass rate: 100.0% (3/3 runs" in result.stdout


def test_export_adds_to_a_dataset_file_keeping_its_format_and_comments(cli: CLI) -> None:
    write(cli, "weather.py", WEATHER)
    ran = cli("run", "What is the weather in Paris?", "--tools", "weather.py", "--session", "s1")
    assert ran.returncode == 0, ran.stderr
    yaml_text = "# my cases\ncases:\n  - name: hello  # a greeting\n    inputs: hi\n"
    write(cli, "mine.yaml", yaml_text)
    write(cli, "mine.json", '{"cases": [{"name": "hello", "inputs": "hi"}]}')
    for name in ("mine.yaml", "mine.json"):
        done = cli("eval", "export", "--session", "s1", "-o", name)
        assert done.returncode == 0 and f"added case 's1' in {name}" in done.stderr
    text = (cli.home / "mine.yaml").read_text()
    assert text.startswith(yaml_text) and "- name: s1" in text  # comments and layout kept
    data = json.loads((cli.home / "mine.json").read_text())  # JSON stays JSON
    assert [c["name"] for c in data["cases"]] == ["hello", "s1"]
    again = cli("eval", "export", "--session", "s1", "-o", "mine.json")
    assert "replaced case 's1'" in again.stderr
    assert len(json.loads((cli.home / "mine.json").read_text())["cases"]) == 2
    write(cli, "notes.yaml", "tests:\n  - a\n")
    write(cli, "broken.yaml", "a: b: c\n")
    for target, problem in (
        ("notes.yaml", "not a dataset file"),
        ("broken.yaml", "not valid YAML"),
        ("cases.txt", "ends in .yaml, .yml or .json"),
        (str(cli.home / "mine.yaml" / "x.yaml"), "cannot"),
    ):
        before = {p.name: p.read_bytes() for p in cli.home.iterdir() if p.is_file()}
        refused = cli("eval", "export", "--session", "s1", "-o", target)
        assert refused.returncode == 2 and problem in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1  # one line, no traceback
        assert {p.name: p.read_bytes() for p in cli.home.iterdir() if p.is_file()} == before
