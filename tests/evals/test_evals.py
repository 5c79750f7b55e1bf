"""agentloop.evals on the emulator: every evaluator passing and failing, repeats, concurrency,
the judge, baselines, dataset errors and exported cases."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import travel_agent
from _lazy import lazy_module
from travel_agent import travel

from agentloop import Conversation
from agentloop.errors import EvalError
from agentloop.testing import Emulator, FunctionModel, ScriptedModel

# agentloop.evals (pydantic-evals, pydantic-ai) loads in the worker that runs these tests.
evals = lazy_module("agentloop.evals")

DATASET = """\
name: travel
evaluators:
  - NoToolErrors
cases:
  - name: trip
    inputs: Plan a trip to Paris
    evaluators:
      - ToolCalled: get_weather
      - ToolCalled: {name: book_hotel, args: {city: Paris}}
      - ToolTrajectory:
          calls: [get_weather, {name: book_hotel, args: {nights: 2}}]
          order: exact
      - ToolTrajectory: {calls: [book_hotel, get_weather], order: any_order}
      - MaxRequests: 3
      - MaxTokens: 5000
      - OutputMatches: "All set for Paris"
      - Judge: Says the trip to Paris is booked
  - name: wrong_tool
    inputs: What is the weather in Rome?
    evaluators:
      - ToolCalled: book_hotel
  - name: wrong_argument
    inputs: What is the weather in Rome?
    evaluators:
      - ToolCalled: {name: get_weather, args: {city: Paris}}
  - name: wrong_order
    inputs: Plan a trip to Oslo, backwards
    evaluators:
      - ToolTrajectory: [get_weather, book_hotel]
  - name: too_many_requests
    inputs: loop the weather in Lima
    evaluators:
      - MaxRequests: 2
  - name: too_many_tokens
    inputs: What is the weather in Rome?
    evaluators:
      - MaxTokens: 10
  - name: wrong_output
    inputs: What is the weather in Rome?
    evaluators:
      - OutputMatches: "Paris"
      - Judge: Says the trip to Paris is booked
  - name: tool_error
    inputs: a broken booking
"""


@pytest.fixture
def dataset_file(tmp_path: Path) -> Path:
    path = tmp_path / "travel.yaml"
    path.write_text(DATASET)
    return path


def paris_judge(request: Any) -> str:
    """A judge model: passes an output that names Paris (deterministic, any order of cases)."""
    output = request.last_user_text.split("<Output>")[1].split("</Output>")[0]
    ok = "Paris" in output
    reason = "It names Paris." if ok else "It does not name Paris."
    return json.dumps({"reason": reason, "pass": ok, "score": 1.0 if ok else 0.0})


def run(dataset: Any, **kwargs: Any) -> Any:
    emulator = travel_agent.emulator()
    kwargs.setdefault("judge_client", Emulator(FunctionModel(paris_judge)).async_client())
    return evals.evaluate(dataset, travel, client=emulator.async_client(), **kwargs)


def test_every_evaluator_passes_and_fails_on_a_yaml_dataset(dataset_file: Path) -> None:
    result = run(evals.load_dataset(dataset_file))
    cases = {c.name: c for c in result.cases}
    assert list(cases) == [
        "trip",
        "wrong_tool",
        "wrong_argument",
        "wrong_order",
        "too_many_requests",
        "too_many_tokens",
        "wrong_output",
        "tool_error",
    ]
    trip = cases["trip"]
    assert trip.passed and trip.requests == 3
    assert trip.assertions == {
        "ToolCalled": True,
        "ToolCalled_2": True,
        "ToolTrajectory": True,
        "ToolTrajectory_2": True,
        "MaxRequests": True,
        "MaxTokens": True,
        "OutputMatches": True,
        "Judge": True,
        "NoToolErrors": True,
    }
    assert trip.scores == {"Judge_score": 1.0}
    for name in cases:
        if name != "trip":
            assert not cases[name].passed, name
    assert "the calls were: get_weather" in cases["wrong_tool"].reasons["ToolCalled"]
    assert (
        'expected a call get_weather({"city": "Paris"})'
        in (cases["wrong_argument"].reasons["ToolCalled"])
    )
    assert (
        "expected (in_order) get_weather, book_hotel; the calls were: book_hotel"
        in (cases["wrong_order"].reasons["ToolTrajectory"])
    )
    assert cases["too_many_requests"].reasons["MaxRequests"] == "4 request(s), max 2"
    assert "max 10" in cases["too_many_tokens"].reasons["MaxTokens"]
    assert "not found in 'All set for Rome" in cases["wrong_output"].reasons["OutputMatches"]
    assert cases["wrong_output"].reasons["Judge"] == "It does not name Paris."
    assert cases["wrong_output"].scores == {"Judge_score": 0.0}
    assert "no hotels in Atlantis" in cases["tool_error"].reasons["NoToolErrors"]
    assert result.pass_rate == pytest.approx(1 / 8)
    data = result.to_json()
    assert data["pass_rate"] == pytest.approx(1 / 8)
    assert set(data["cases"][0]) >= {
        "name",
        "passed",
        "scores",
        "assertions",
        "duration",
        "requests",
    }


def test_trajectory_orders() -> None:
    def trajectory(calls: list[Any], order: str) -> bool:
        case = evals.Case(
            name="c", inputs="Plan a trip to Paris", evaluators=[evals.ToolTrajectory(calls, order)]
        )  # type: ignore[arg-type]
        return run(evals.Dataset(name="d", cases=[case])).cases[0].passed

    assert trajectory(["get_weather", "book_hotel"], "exact")
    assert not trajectory(["get_weather"], "exact")  # a call too many
    assert trajectory(["book_hotel"], "in_order")  # others may come before
    assert not trajectory(["book_hotel", "get_weather"], "in_order")
    assert trajectory(["book_hotel", "get_weather"], "any_order")
    assert not trajectory(["book_hotel", "book_hotel"], "any_order")  # each call used once
    assert trajectory([{"name": "book_hotel", "args": {"city": "Paris", "nights": 2}}], "in_order")
    assert not trajectory([{"name": "book_hotel", "args": {"nights": 3}}], "in_order")


def test_calls_waiting_for_approval_count_and_the_turn_status_shows() -> None:
    from agentloop import Agent, tool

    @tool(requires_approval=True)
    def delete_file(path: str) -> str:
        """Delete a file.

        Args:
            path: The file.
        """
        return f"deleted {path}"

    def model(request: Any) -> Any:
        return [{"type": "function_call", "name": "delete_file", "arguments": {"path": "a"}}]

    agent = Agent("janitor", instructions="Clean up.", tools=[delete_file])
    dataset = evals.Dataset(
        name="approvals",
        cases=[
            evals.Case(
                name="must_not_delete", inputs="x", evaluators=[evals.ToolTrajectory([], "exact")]
            ),
            evals.Case(name="asks", inputs="x", evaluators=[evals.ToolCalled("delete_file")]),
        ],
    )
    result = evals.evaluate(dataset, agent, client=Emulator(FunctionModel(model)).async_client())
    never, asks = result.cases
    assert not never.passed and asks.passed  # asked for, waiting for approval: a call
    assert "delete_file" in str(never.reasons) and "awaiting approval" in str(never.reasons)
    (report,) = [c for c in result.report.cases if c.name.startswith("must_not_delete")]
    assert report.attributes["turn_status"] == "awaiting_approval"


def test_repeats_give_a_pass_rate_per_case() -> None:
    # The model books in Rome every other time: half the runs pass.
    lock = threading.Lock()
    count = [0]

    def flaky(request: Any) -> Any:
        if request.history[-1].type == "function_result":
            return "done"
        with lock:
            count[0] += 1
            city = "Paris" if count[0] % 2 else "Rome"
        return [{"type": "function_call", "name": "get_weather", "arguments": {"city": city}}]

    dataset = evals.Dataset(
        name="flaky",
        cases=[
            evals.Case(
                name="weather",
                inputs="weather?",
                evaluators=[evals.ToolCalled("get_weather", {"city": "Paris"})],
            )
        ],
    )
    emulator = Emulator(FunctionModel(flaky))
    result = evals.evaluate(
        dataset, travel, client=emulator.async_client(), repeat=4, max_concurrency=1
    )
    (case,) = result.cases
    assert case.runs == 4 and case.pass_rate == 0.5 and not case.passed
    assert case.assertions == {"ToolCalled": 0.5}
    assert result.pass_rate == 0.5
    assert len(result.report.cases) == 4


@pytest.mark.parametrize("concurrency", [3, 1])
def test_cases_run_concurrently_each_in_a_fresh_conversation(concurrency: int) -> None:
    # Each case makes two requests around a tool call. Run together, every case's first
    # request comes before any second one; one at a time, they alternate.
    seen: list[tuple[str, int]] = []

    def model(request: Any) -> Any:
        seen.append((request.last_user_text, len(request.history)))
        return travel_agent.travel_model(request)

    emulator = Emulator(FunctionModel(model))
    cities = ["Oslo", "Rome", "Lima"]
    dataset = evals.Dataset(
        name="c", cases=[evals.Case(name=c, inputs=f"weather in {c}") for c in cities]
    )
    result = evals.evaluate(
        dataset, travel, client=emulator.async_client(), max_concurrency=concurrency
    )
    assert result.passed and [c.name for c in result.cases] == cities
    firsts = [n for _, n in seen].count(1)
    assert firsts == 3  # a fresh conversation per case: its first request has no earlier history
    if concurrency == 3:
        assert [n for _, n in seen[:3]] == [1, 1, 1]
    else:
        assert [n for _, n in seen] == [1, 3] * 3


def test_max_concurrency_one_runs_cases_one_at_a_time() -> None:
    active = [0]
    most = [0]
    lock = threading.Lock()

    async def task(inputs: str) -> str:
        import anyio

        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        await anyio.sleep(0.01)
        with lock:
            active[0] -= 1
        return inputs

    dataset = evals.Dataset(
        name="c", cases=[evals.Case(name=f"c{i}", inputs=f"hi {i}") for i in range(4)]
    )
    assert evals.evaluate(dataset, task, max_concurrency=1).passed
    assert most == [1]


def test_conversation_factories_and_callables_are_evaluated() -> None:
    emulator = travel_agent.emulator()
    client = emulator.client()
    case = evals.Case(
        name="w",
        inputs="weather in Oslo",
        evaluators=[evals.ToolCalled("get_weather", {"city": "Oslo"})],
    )
    dataset = evals.Dataset(name="d", cases=[case])

    def factory() -> Conversation:
        return travel.conversation(client)

    def task(inputs: str) -> Any:
        return travel.run(inputs, client=client)

    def text_only(inputs: str) -> str:
        return "no history here"

    assert evals.evaluate(dataset, factory).passed
    assert evals.evaluate(dataset, task).passed
    plain = evals.evaluate(dataset, text_only).cases[0]
    assert not plain.passed and "no agentloop Turn" in plain.reasons["ToolCalled"]


def test_multi_turn_inputs_share_one_conversation() -> None:
    case = evals.Case(
        name="two",
        inputs={"turns": ["weather in Oslo", "Plan a trip to Rome"]},
        evaluators=[evals.ToolTrajectory(["get_weather", "get_weather", "book_hotel"], "exact")],
    )
    result = run(evals.Dataset(name="d", cases=[case]))
    assert result.passed and result.cases[0].requests == 5


def test_a_scripted_judge_scores_the_output() -> None:
    judge_model = ScriptedModel(
        ['{"reason": "It names the city and the weather.", "pass": true, "score": 0.75}']
    )
    judge_emulator = Emulator(judge_model)
    case = evals.Case(
        name="trip",
        inputs="Plan a trip to Paris",
        evaluators=[evals.Judge("Names the city and the weather")],
    )
    result = run(evals.Dataset(name="d", cases=[case]), judge_client=judge_emulator.async_client())
    (res,) = result.cases
    assert res.passed and res.assertions == {"Judge": True} and res.scores == {"Judge_score": 0.75}
    (seen,) = judge_model.requests
    prompt = seen.last_user_text
    assert "<Rubric>\nNames the city and the weather\n</Rubric>" in prompt
    assert (
        "All set for Paris" in prompt
        and "book_hotel" in prompt
        and "Plan a trip to Paris" in prompt
    )
    assert seen.response_format is not None  # the grading schema went to the model

    failing = ScriptedModel(['{"reason": "No price given.", "pass": false, "score": 0.2}'])
    judge = evals.Judge("Gives the price", client=Emulator(failing).async_client())
    case = evals.Case(name="trip", inputs="Plan a trip to Paris", evaluators=[judge])
    res = run(evals.Dataset(name="d", cases=[case])).cases[0]
    assert not res.passed and res.reasons == {"Judge": "No price given."}
    assert res.scores == {"Judge_score": 0.2}


def test_baseline_comparison(dataset_file: Path, tmp_path: Path) -> None:
    old = run(evals.load_dataset(dataset_file))
    baseline = tmp_path / "old.json"
    old.write_json(baseline)
    text = dataset_file.read_text().replace("ToolCalled: book_hotel", "ToolCalled: get_weather")
    text = text.replace("      - MaxRequests: 3\n", "      - MaxRequests: 2\n")
    dataset_file.write_text(text)
    comparison = run(evals.load_dataset(dataset_file)).compare(baseline)
    assert comparison.better == ["wrong_tool: now passes", "wrong_tool: ToolCalled now holds"]
    assert comparison.worse == ["trip: now fails", "trip: MaxRequests now fails"]
    assert comparison.pass_rate == (pytest.approx(1 / 8), pytest.approx(1 / 8))
    same = old.compare(json.loads(baseline.read_text()))
    assert same.better == [] and same.worse == [] and "no case changed" in same.lines()[-1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "cases:\n  - name: a\n    inputs: x\n    evaluators:\n      - ToolCaled: get_weather\n",
            "travel.yaml:5: cases[0] 'a' evaluators[0]: unknown evaluator 'ToolCaled'; known: ",
        ),
        (
            "cases:\n  - name: a\n    inputs: x\n  - name: b\n    inputs: y\n    evaluators:\n"
            "      - ToolTrajectory: {calls: [a], order: sideways}\n",
            "travel.yaml:7: cases[1] 'b' evaluators[0]: ToolTrajectory order must be one of",
        ),
        (
            "evaluators:\n  - MaxRequests: many\ncases: []\n",
            "travel.yaml:2: dataset evaluators[0]: MaxRequests needs a whole number >= 0",
        ),
        (
            "cases:\n  - name: a\n    input: x\n",
            "travel.yaml:2: cases[0] 'a': the case has no 'inputs'",
        ),
        ("cases: [\n  - a\n", "travel.yaml:2:3: not valid YAML: expected the node content"),
        ("name: x\n", "travel.yaml: a dataset is a mapping with a 'cases' list"),
        (
            "cases:\n  - name: a\n    inputs: x\n    evaluators:\n      - ToolCalled: {nme: x}\n",
            "travel.yaml:5: cases[0] 'a' evaluators[0]: bad arguments for ToolCalled",
        ),
        (
            "cases:\n  - name: a\n    inputs: x\n    expected: 1\n",
            "travel.yaml:4: cases[0] 'a' expected: Extra inputs",
        ),
    ],
)
def test_bad_datasets_fail_in_one_line_naming_the_place(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "travel.yaml"
    path.write_text(text)
    with pytest.raises(EvalError) as info:
        evals.load_dataset(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_export_a_session_into_a_case_that_passes(tmp_path: Path) -> None:
    from agentloop.stores import SQLiteStore

    emulator = travel_agent.emulator()
    store = SQLiteStore(tmp_path / "s.db")
    with travel.conversation(emulator.client(), store=store, id="paris-trip") as conv:
        conv.send("Plan a trip to Paris")
    loaded = store.load("paris-trip")
    case = evals.export_case(loaded.history, name="paris-trip")
    assert case["inputs"] == "Plan a trip to Paris"
    assert case["expected_output"] == "All set for Paris: 17 degrees and light rain."
    assert case["evaluators"] == [
        {
            "ToolTrajectory": {
                "calls": [
                    {"name": "get_weather", "args": {"city": "Paris"}},
                    {"name": "book_hotel", "args": {"city": "Paris", "nights": 2}},
                ]
            }
        }
    ]
    dataset = evals.Dataset[Any, Any, Any].from_dict(
        {"cases": [case]}, custom_evaluator_types=[evals.ToolTrajectory], default_name="exported"
    )
    assert run(dataset).passed


def test_cassette_files_are_safe_and_distinct(tmp_path: Path) -> None:
    from agentloop.evals._evaluate import cassette_files

    cases = [
        evals.Case(name="a b", inputs=1),
        evals.Case(name="a-b", inputs=2),
        evals.Case(name="v1.2", inputs=3),
    ]
    dataset = evals.Dataset(name="d", cases=[*cases, evals.Case(inputs=4)])
    files = cassette_files(dataset, tmp_path)
    names = [files[id(c)].name for c in dataset.cases]
    assert names == ["a-b.yaml", "a-b-2.yaml", "v1.2.yaml", "Case-4.yaml"]


def _travel_and_judge(request: Any) -> Any:
    """The travel agent's model, and a judge that passes "Says the trip is booked"."""
    if "Says the trip is booked" in request.last_user_text:
        return '{"reason": "It is booked.", "pass": true, "score": 1.0}'
    return travel_agent.travel_model(request)


def test_cassettes_record_once_and_repeats_replay_them(tmp_path: Path) -> None:
    from agentloop import AsyncClient

    emulator = Emulator(FunctionModel(_travel_and_judge))
    case = evals.Case(
        name="trip", inputs="Plan a trip to Paris", evaluators=[evals.ToolCalled("book_hotel")]
    )
    dataset = evals.Dataset(name="d", cases=[case])
    with emulator.serve() as url:
        live = AsyncClient(api_key="k", base_url=url)
        assert evals.evaluate(dataset, travel, client=live, cassettes=tmp_path, repeat=2).passed
        assert len(emulator.requests) == 3  # recorded once; the second run replayed it
    dead = AsyncClient(api_key="k", base_url="http://127.0.0.1:9")
    result = evals.evaluate(dataset, travel, client=dead, cassettes=tmp_path, repeat=3)
    assert result.passed and result.cases[0].runs == 3
    assert [p.name for p in tmp_path.iterdir()] == ["trip.yaml"]


def test_a_task_that_raises_fails_its_case_with_the_error() -> None:
    def broken(inputs: str) -> str:
        raise ValueError(f"boom on {inputs}")

    dataset = evals.Dataset(
        name="d", cases=[evals.Case(name="a", inputs="x"), evals.Case(name="b", inputs="y")]
    )
    result = evals.evaluate(dataset, broken, repeat=2)
    assert [c.name for c in result.cases] == ["a", "b"]
    a = result.cases[0]
    assert not a.passed and a.runs == 2 and a.pass_rate == 0.0
    assert a.errors == ["ValueError: boom on x", "ValueError: boom on x"]
    assert result.to_json()["cases"][0]["errors"][0] == "ValueError: boom on x"
    with pytest.raises(EvalError, match="repeat must be a whole number >= 1"):
        evals.evaluate(dataset, broken, repeat=0)
    with pytest.raises(EvalError, match="cannot evaluate int"):
        evals.evaluate(dataset, 3)


def _resource_warnings(run: Any) -> list[str]:
    import gc
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        run()
        gc.collect()
    return [str(w.message) for w in caught if w.category is ResourceWarning]


def test_the_sync_evaluate_leaves_no_connection_behind_in_the_loop_it_ran(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``evaluate`` runs its own event loop: the connections an ``AsyncClient`` opened there
    (the caller's, or the one it made for an ``Agent``, or a ``Judge``'s own) are closed
    before that loop ends, and the caller's client goes on working in the next loop."""
    import asyncio

    from agentloop import AsyncClient

    emulator = Emulator(FunctionModel(_travel_and_judge))
    case = evals.Case(
        name="trip",
        inputs="Plan a trip to Paris",
        evaluators=[evals.ToolCalled("book_hotel"), evals.Judge("Says the trip is booked")],
    )
    dataset = evals.Dataset(name="d", cases=[case])
    agent = travel
    with emulator.serve() as url:
        mine = AsyncClient(api_key="k", base_url=url)

        def with_my_client() -> None:
            assert evals.evaluate(dataset, agent, client=mine).passed

        assert _resource_warnings(with_my_client) == []

        async def later() -> str:
            try:
                return (await mine.interactions.create(model="gemini-2.5-flash", input="hi")).status
            finally:
                await mine.close()

        statuses: list[str] = []
        # In a new loop, on new connections, all closed with the client.
        assert _resource_warnings(lambda: statuses.append(asyncio.run(later()))) == []
        assert statuses == ["completed"]
        # No client given: the one made for the agent, and the judge's, are evaluate's own.
        monkeypatch.setenv("GEMINI_API_KEY", "k")
        monkeypatch.setenv("GEMINI_BASE_URL", url)
        assert _resource_warnings(lambda: evals.evaluate(dataset, agent)) == []


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ({"name": "a", "assertions": {"ToolCalled": "yes"}}, "assertions.ToolCalled: 'yes'"),
        ({"name": "a", "assertions": None}, "assertions: None is not an object"),
        ({"name": "a", "pass_rate": "high"}, "pass_rate: 'high' is not a number"),
        ({"passed": True}, "cases[0]: not a case result"),
    ],
)
def test_a_malformed_baseline_is_refused_before_anything_runs(
    tmp_path: Path, case: dict[str, Any], says: str
) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"cases": [case], "pass_rate": 1.0}))
    with pytest.raises(EvalError, match=r"old\.json") as caught:
        evals.read_results(path)
    assert says in str(caught.value)


def test_two_cases_of_one_name_are_refused_not_merged() -> None:
    dataset = evals.Dataset(
        name="d", cases=[evals.Case(inputs="a"), evals.Case(name="Case 1", inputs="b")]
    )
    with pytest.raises(EvalError, match="named 'Case 1'"):
        evals.evaluate(dataset, travel, client=Emulator().async_client())
