"""The ASGI app without a browser: the AG-UI endpoint, the sessions API, the safety rules."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _http import http_client, serve
from ag_ui.core import Event
from pydantic import TypeAdapter
from starlette.testclient import TestClient
from web_helpers import Gate, delete_file, events_of, get_weather, show_snippet, user_input

from agentloop.web import create_app

LOCAL = "http://127.0.0.1:8000"
EVENT = TypeAdapter(Event)


def _app(tmp_path: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("tools", [get_weather, delete_file, show_snippet])
    return create_app(emulator=True, store=tmp_path / "web.db", **kwargs)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(_app(tmp_path), base_url=LOCAL) as c:
        yield c


def _run(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/agui", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(response.text)
    for event in events:
        EVENT.validate_python(event)  # every event is a valid AG-UI event
    return events


def test_page_and_assets_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<textarea" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    for name in ("app.js", "markdown.js", "style.css"):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200 and asset.content
    assert client.get("/static/../_app.py").status_code == 404
    assert "innerHTML" not in client.get("/static/app.js").text
    assert "innerHTML" not in client.get("/static/markdown.js").text


def test_info_says_the_emulator_answers(client: TestClient) -> None:
    info = client.get("/api/info").json()
    assert info["offline"] is True and "emulator" in info["backend"]
    assert {"name": "delete_file", "requires_approval": True} in info["tools"]


def test_a_run_streams_text_and_tool_calls_as_agui_events(client: TestClient) -> None:
    events = _run(client, user_input("t1", "What is the weather in Oslo?"))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "RUN_STARTED" and kinds[-1] == "RUN_FINISHED"
    assert events[0]["threadId"] == "t1" and events[0]["runId"] == "r1"
    call = [e for e in events if e["type"].startswith("TOOL_CALL")]
    assert [e["type"] for e in call] == [
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
    ]
    assert call[0]["toolCallName"] == "get_weather"
    assert json.loads(call[1]["delta"]) == {"city": "Oslo"}
    assert json.loads(call[3]["content"])["temperature"] == 21
    finished = next(e for e in events if e.get("name") == "agentloop.tool_call_finished")
    assert finished["value"]["is_error"] is False and finished["value"]["duration"] >= 0
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == events[-1]["result"]["text"]
    assert "get_weather returned" in text
    starts = [e for e in events if e["type"] == "TEXT_MESSAGE_START"]
    ends = [e for e in events if e["type"] == "TEXT_MESSAGE_END"]
    assert [e["messageId"] for e in starts] == [e["messageId"] for e in ends]
    assert "REASONING_MESSAGE_CONTENT" in kinds  # thought summaries, folded in the page
    assert events[-1]["usage"][0]["totalTokens"] > 0


def test_one_thread_is_one_conversation_in_the_store(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path), base_url=LOCAL) as client:
        _run(client, user_input("pets", "I have 2 dogs in my house."))
        _run(client, user_input("pets", "How many paws are in my house?", run="r2"))
        listing = client.get("/api/sessions").json()["sessions"]
        assert [s["id"] for s in listing] == ["pets"]
        assert listing[0]["title"] == "I have 2 dogs in my house."
    # A new server process (a new app) on the same store sees the whole conversation.
    with TestClient(_app(tmp_path), base_url=LOCAL) as client:
        detail = client.get("/api/sessions/pets").json()
        kinds = [i["kind"] for i in detail["items"]]
        assert kinds.count("user") == 2 and kinds.count("assistant") == 2
        assert "8 paws" in detail["items"][-1]["text"]
        assert detail["usage"]["model_requests"] == 2
        events = _run(client, user_input("pets", "How many dogs do I have?", run="r3"))
        assert "2 dogs" in events[-1]["result"]["text"]


def test_approval_interrupts_the_run_and_resume_answers_it(client: TestClient) -> None:
    events = _run(client, user_input("a1", "Please delete the file notes.txt"))
    outcome = events[-1]["outcome"]
    assert outcome["type"] == "interrupt"
    interrupt = outcome["interrupts"][0]
    assert interrupt["reason"] == "tool_approval"
    call_id = interrupt["toolCallId"]
    assert not [e for e in events if e["type"] == "TOOL_CALL_RESULT"]  # not run yet
    assert client.get("/api/sessions/a1").json()["pending"] == [call_id]

    resume = {
        "threadId": "a1",
        "runId": "r2",
        "messages": [],
        "resume": [{"interruptId": call_id, "status": "resolved", "payload": {"approved": True}}],
    }
    events = _run(client, resume)
    result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
    assert result["toolCallId"] == call_id and result["content"].startswith("deleted ")
    assert not [e for e in events if e["type"] == "TOOL_CALL_START"]  # announced before
    assert events[-1]["result"]["status"] == "completed"
    assert client.get("/api/sessions/a1").json()["pending"] == []


def test_a_rejected_call_reaches_the_model_as_an_error(client: TestClient) -> None:
    events = _run(client, user_input("a2", "Please delete the file notes.txt"))
    call_id = events[-1]["outcome"]["interrupts"][0]["id"]
    events = _run(
        client,
        {
            "threadId": "a2",
            "runId": "r2",
            "messages": [],
            "resume": [{"interruptId": call_id, "status": "cancelled"}],
        },
    )
    finished = next(e for e in events if e.get("name") == "agentloop.tool_call_finished")
    assert finished["value"]["is_error"] is True
    assert "delete_file failed" in events[-1]["result"]["text"]


def test_the_browser_cannot_bypass_approval(client: TestClient) -> None:
    # Frontend tools and props cannot turn approval off: the server's tool definition decides.
    body = user_input(
        "a3",
        "Please delete the file notes.txt",
        tools=[{"name": "delete_file", "description": "x", "parameters": {}}],
        forwardedProps={"requires_approval": False, "approve_all": True},
    )
    events = _run(client, body)
    assert events[-1]["outcome"]["type"] == "interrupt"
    assert not [e for e in events if e["type"] == "TOOL_CALL_RESULT"]
    # Answering a call that is not waiting is refused, and so is resuming with nothing pending.
    forged = {
        "threadId": "a3",
        "runId": "r2",
        "messages": [],
        "resume": [
            {"interruptId": "call_forged", "status": "resolved", "payload": {"approved": True}}
        ],
    }
    refused = client.post("/agui", json=forged)
    assert refused.status_code == 400 and "do not wait for approval" in refused.json()["error"]
    fresh = {**forged, "threadId": "a4"}  # a resume of a thread that never was: no session
    assert client.post("/agui", json=fresh).status_code == 404
    assert client.get("/api/sessions/a4").status_code == 404  # and none is made by it


def test_refusals_are_json_and_make_no_session(client: TestClient) -> None:
    assert client.get("/api/nope").json() == {"error": "Not Found"}
    assert client.get("/agui").status_code == 405 and "error" in client.get("/agui").json()
    assert client.post("/api/sessions/never-seen/stop").status_code == 404
    for run_id in ("", "r" * 129):
        body = user_input("m9", "hi", runId=run_id)
        refused = client.post("/agui", json=body)
        assert refused.status_code == 400 and "runId" in refused.json()["error"]
    assert client.get("/api/sessions/m9").status_code == 404


def test_tool_output_is_data_not_markup(client: TestClient) -> None:
    events = _run(client, user_input("x1", "Show the snippet called banner"))
    result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
    assert result["content"].startswith("<script>")  # carried verbatim, escaped by the page
    detail = client.get("/api/sessions/x1").json()
    card = next(i for i in detail["items"] if i["kind"] == "tool")
    assert card["result"].startswith("<script>")


def test_sessions_api_switches_strategy_and_deletes(client: TestClient) -> None:
    _run(client, user_input("s1", "I have 2 dogs in my house."))
    switched = client.patch("/api/sessions/s1", json={"strategy": "stateless"})
    assert switched.status_code == 200 and switched.json()["strategy"] == "stateless"
    events = _run(client, user_input("s1", "How many paws are in my house?", run="r2"))
    assert "8 paws" in events[-1]["result"]["text"]  # the history carried over
    session = next(e for e in events if e.get("name") == "agentloop.session")
    assert session["value"]["strategy"] == "stateless"
    assert client.patch("/api/sessions/s1", json={"strategy": "sideways"}).status_code == 400
    assert client.delete("/api/sessions/s1").json() == {"deleted": "s1"}
    assert client.get("/api/sessions/s1").status_code == 404
    assert client.delete("/api/sessions/s1").status_code == 404
    assert client.get("/api/sessions/bad%20id").status_code == 400


def test_bad_requests_are_clear_errors(client: TestClient) -> None:
    assert client.post("/agui", json={"threadId": "t"}).status_code == 400
    no_user = {
        "threadId": "t",
        "runId": "r",
        "messages": [{"id": "m", "role": "assistant", "content": "hi"}],
    }
    response = client.post("/agui", json=no_user)
    assert response.status_code == 400 and "user's new message" in response.json()["error"]
    text = client.post("/agui", content=b"{}", headers={"content-type": "text/plain"})
    assert text.status_code == 415  # no cross-site "simple" POSTs


def test_token_is_required_when_set(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path, token="s3cret"), base_url="http://example.net") as client:
        assert client.get("/").status_code == 200  # the page itself holds no data
        assert client.get("/api/sessions").status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.get("/api/sessions", headers=wrong).status_code == 401
        good = {"Authorization": "Bearer s3cret"}
        assert client.get("/api/sessions", headers=good).status_code == 200
        events = client.post("/agui", json=user_input("t", "hello"), headers=good)
        assert events_of(events.text)[-1]["type"] == "RUN_FINISHED"


def test_an_empty_token_is_refused_where_it_is_given(tmp_path: Path) -> None:
    """``--token "$UNSET"``: anyone sends an empty token, and a token turns the Host check
    off; the web app, the A2A app and the CLI refuse it."""
    from agentloop import Agent
    from agentloop.a2a import create_app as a2a_app
    from agentloop.cli import main
    from agentloop.errors import ConfigurationError

    for token in ("", "   "):
        with pytest.raises(ConfigurationError, match="token is empty"):
            _app(tmp_path, token=token)
        with pytest.raises(ConfigurationError, match="token is empty"):
            a2a_app(Agent("a"), token=token)
        assert main(["serve", "--token", token]) == 2


def test_without_a_token_only_loopback_hosts_and_same_origin(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path), base_url="http://attacker.example") as client:
        # DNS rebinding: a page of another site resolved to 127.0.0.1 is refused.
        assert client.get("/").status_code == 403
        assert client.get("/api/sessions").status_code == 403
    with TestClient(_app(tmp_path), base_url=LOCAL) as client:
        cross = client.post(
            "/agui", json=user_input("t", "hi"), headers={"Origin": "http://attacker.example"}
        )
        assert cross.status_code == 403
        same = client.post("/agui", json=user_input("t", "hi"), headers={"Origin": LOCAL})
        assert same.status_code == 200


def _wait_idle(base: str, session: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    with http_client() as http:
        while time.monotonic() < deadline:
            detail: dict[str, Any] = http.get(f"{base}/api/sessions/{session}").json()
            if not detail["running"]:
                return detail
            time.sleep(0.02)
    raise AssertionError("the turn did not finish")


def test_a_turn_keeps_running_when_the_client_goes_away(tmp_path: Path) -> None:
    gate = Gate()
    app = create_app(emulator=True, tools=[gate.tool], store=tmp_path / "web.db")
    with serve(app) as base, http_client(timeout=20) as http:
        body = user_input("bg", "Write a slow report about the moon")
        with http.stream("POST", f"{base}/agui", json=body) as response:
            for line in response.iter_lines():
                if "TOOL_CALL_START" in line:
                    break  # the tab closes while the tool runs
        assert gate.entered.wait(10)
        running = http.get(f"{base}/api/sessions").json()["sessions"]
        assert running == [
            {
                "id": "bg",
                "title": "Write a slow report about the moon",
                "updated": running[0]["updated"],
                "running": True,
            }
        ]
        # Reopened: the page attaches to the run and is sent its events from the start.
        with http.stream("GET", f"{base}/api/sessions/bg/events") as follow:
            gate.open.set()
            replay = events_of("\n".join(follow.iter_lines()))
        assert replay[0]["type"] == "RUN_STARTED" and replay[-1]["type"] == "RUN_FINISHED"
        assert "moon: all good" in replay[-1]["result"]["text"]
        detail = _wait_idle(base, "bg")
        assert detail["items"][-1]["kind"] == "assistant"


def test_stop_cancels_the_turn_and_keeps_the_history_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentloop import AsyncConversation

    monkeypatch.setattr(AsyncConversation, "interrupt_grace", 0.2)  # the tool outlives it
    gate = Gate()
    app = create_app(emulator=True, tools=[gate.tool], store=tmp_path / "web.db")
    try:
        with serve(app) as base, http_client(timeout=20) as http:
            body = user_input("st", "Write a slow report about the sea")
            with http.stream("POST", f"{base}/agui", json=body) as response:
                lines = response.iter_lines()
                for line in lines:
                    if "TOOL_CALL_START" in line:
                        break
                assert gate.entered.wait(10)
                assert http.post(f"{base}/api/sessions/st/stop").json() == {"stopped": True}
                rest = events_of("\n".join(lines))
            assert rest[-1]["type"] == "RUN_FINISHED"
            assert rest[-1]["outcome"] == {"type": "cancelled"}
            detail = _wait_idle(base, "st")
            # The call started and was still running after the grace period: in doubt (it
            # may have run), never recorded as "not run" (issue 20).
            card = next(i for i in detail["items"] if i["kind"] == "tool")
            assert not card["done"] and card["pending"] and detail["pending"] == [card["id"]]
            again = http.post(f"{base}/agui", json=user_input("st", "hello", run="r2"))
            assert events_of(again.text)[-1]["type"] == "RUN_FINISHED"
            detail = _wait_idle(base, "st")
            card = next(i for i in detail["items"] if i["kind"] == "tool")
            assert (
                card["done"] and card["is_error"] and card["result"].startswith("Outcome unknown")
            )
    finally:
        gate.open.set()


def test_several_sessions_run_at_once(tmp_path: Path) -> None:
    first = Gate()
    app = create_app(emulator=True, tools=[first.tool], store=tmp_path / "web.db")
    try:
        with (
            serve(app) as base,
            http_client(base_url=base, timeout=20) as a,
            http_client(base_url=base, timeout=20) as b,
        ):
            with a.stream("POST", "/agui", json=user_input("one", "Write a slow report about A")):
                assert first.entered.wait(10)
                # While session "one" waits in its tool, session "two" runs a whole turn.
                other = b.post("/agui", json=user_input("two", "I have 2 dogs in my house."))
                assert events_of(other.text)[-1]["type"] == "RUN_FINISHED"
                listing = a.get("/api/sessions").json()["sessions"]
                assert {s["id"]: s["running"] for s in listing} == {"one": True, "two": False}
                busy = b.post("/agui", json=user_input("one", "hello", run="r9"))
                assert busy.status_code == 409  # one turn at a time per session
                first.open.set()
            assert "A: all good" in _wait_idle(base, "one")["items"][-1]["text"]
    finally:
        first.open.set()


def test_idle_sessions_leave_memory_and_load_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agentloop.web._app as web_app

    monkeypatch.setattr(web_app, "MAX_LIVE", 2)
    app = _app(tmp_path)
    with TestClient(app, base_url=LOCAL) as client:
        for n in range(4):
            _run(client, user_input(f"s{n}", f"I have {n + 1} cats."))
        assert len(app.state.hub.live) == 2
        detail = client.get("/api/sessions/s0").json()  # loaded again from the store
        assert detail["items"][0]["text"] == "I have 1 cats."
        events = _run(client, user_input("s0", "How many cats do I have?", run="r2"))
        assert "1 cats" in events[-1]["result"]["text"]


def test_sessions_on_postgresql(tmp_path: Path) -> None:
    import uuid

    import psycopg

    from agentloop.stores import PostgresStore
    from tests._services import postgres_dsn

    dsn = postgres_dsn()
    schema = f"web_{uuid.uuid4().hex[:10]}"
    try:
        for attempt in range(2):  # the second app is a restarted server on the same database
            store = PostgresStore(dsn, schema=schema)
            with TestClient(
                create_app(emulator=True, tools=[get_weather], store=store), base_url=LOCAL
            ) as c:
                if attempt == 0:
                    _run(c, user_input("pg", "I have 2 dogs in my house."))
                    _run(c, user_input("pg", "What is the weather in Oslo?", run="r2"))
                else:
                    listing = c.get("/api/sessions").json()["sessions"]
                    assert [s["id"] for s in listing] == ["pg"]
                    assert listing[0]["title"] == "I have 2 dogs in my house."
                    detail = c.get("/api/sessions/pg").json()
                    assert detail["usage"]["model_requests"] == 3  # the app meta came back
                    assert [i["kind"] for i in detail["items"]].count("tool") == 1
                    events = _run(c, user_input("pg", "How many paws are in my house?", run="r3"))
                    assert "8 paws" in events[-1]["result"]["text"]
            store.close()  # a store passed in is the caller's to close
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_the_json_checks_are_exact_and_deep_json_is_a_400(client: TestClient) -> None:
    """Fault 15: a substring content-type check, and 500 on a 100k-deep JSON body (the body
    size limit: test_bodies_are_limited_and_must_really_be_json)."""
    body = json.dumps(user_input("t", "hi")).encode()
    sneaky = {"content-type": "text/plain; x=application/json"}
    assert client.post("/agui", content=body, headers=sneaky).status_code == 415
    charset = {"content-type": "application/json; charset=utf-8"}
    assert client.post("/agui", content=body, headers=charset).status_code == 200
    deep = b"[" * 100_000 + b"]" * 100_000
    response = client.post("/agui", content=deep, headers={"content-type": "application/json"})
    assert response.status_code in (400, 413) and "error" in response.json()


def test_a_session_another_writer_changed_is_reloaded(tmp_path: Path) -> None:
    """Fault 8: every web turn ended in ConflictError until the server restarted."""
    from agentloop import Conversation
    from agentloop.stores import SQLiteStore
    from agentloop.testing import Emulator
    from agentloop.testing.demo import DemoModel

    emu = Emulator(model=DemoModel())
    app = create_app(
        client=emu.async_client(), store=tmp_path / "web.db", tools=[get_weather, delete_file]
    )
    with TestClient(app, base_url=LOCAL) as client:
        assert _run(client, user_input("s", "hello"))[-1]["type"] == "RUN_FINISHED"
        store = SQLiteStore(tmp_path / "web.db")
        other = Conversation.from_store(store, "s", client=emu.client())
        other.send("from the CLI")  # another writer moves the session on
        events = _run(client, user_input("s", "from the web", run="r2"))
        error = next(e for e in events if e["type"] == "RUN_ERROR")
        assert "reloaded" in error["message"] and "send your message again" in error["message"]
        events = _run(client, user_input("s", "from the web", run="r3"))
        assert events[-1]["type"] == "RUN_FINISHED"
        conv = Conversation.from_store(store, "s", client=emu.client())
        texts = [s.content[0].text for s in conv.history if s.type == "user_input"]
        assert texts == ["hello", "from the CLI", "from the web"]


def test_a_non_json_meta_row_does_not_break_the_session_list(tmp_path: Path) -> None:
    """Fault 7: one bad meta row made GET /api/sessions answer 500 for every session."""
    import sqlite3

    with TestClient(_app(tmp_path), base_url=LOCAL) as client:
        _run(client, user_input("a", "one"))
        _run(client, user_input("b", "two"))
        db = sqlite3.connect(tmp_path / "web.db")
        db.execute("UPDATE conversations SET meta = 'not json' WHERE id = 'a'")
        db.commit()
        db.close()
        listed = client.get("/api/sessions")
        assert listed.status_code == 200
        assert {s["id"] for s in listed.json()["sessions"]} >= {"a", "b"}


def test_no_silent_emulator_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``create_app()`` talks to the real API unless told otherwise: without a key it fails
    saying what to do, it never answers with canned text instead."""
    from agentloop.errors import ConfigurationError, MissingAPIKeyError
    from agentloop.testing import Emulator

    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError, match="emulator"):
        create_app(store=tmp_path / "web.db")
    with pytest.raises(ConfigurationError, match="not both"):
        create_app(store=tmp_path / "web.db", client=Emulator().async_client(), emulator=True)
    with TestClient(create_app(store=tmp_path / "web.db", emulator=True), base_url=LOCAL) as c:
        info = c.get("/api/info").json()
        assert info["offline"] is True and "emulator" in info["backend"]


def test_bodies_are_limited_and_must_really_be_json(tmp_path: Path) -> None:
    """The guard refuses a body over ``max_body`` (declared or streamed) with 413 before a
    route reads it; a content type that merely mentions JSON is not JSON."""
    with TestClient(_app(tmp_path, max_body=2000), base_url=LOCAL) as c:
        big = {"threadId": "t1", "runId": "r1", "messages": [], "state": {}, "tools": [],
               "context": [], "forwardedProps": {"pad": "x" * 5000}}  # fmt: skip
        response = c.post("/agui", json=big)
        assert response.status_code == 413 and "2000 bytes" in response.json()["error"]

        def chunks() -> Any:
            yield b'{"pad": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}'

        streamed = c.patch(
            "/api/sessions/s1", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        sneaky = c.patch(
            "/api/sessions/s1",
            content=b'{"strategy": "stateless"}',
            headers={"content-type": "text/plain; x=application/json"},
        )
        assert sneaky.status_code == 415
        fine = c.patch("/api/sessions/s1", json={"strategy": "stateless"})
        assert fine.status_code == 200 and fine.json()["strategy"] == "stateless"


def test_a_tool_that_calls_sys_exit_ends_its_run_not_the_server(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import sys

    def get_weather(city: str) -> str:
        """Get the weather.

        Args:
            city: The city.
        """
        sys.exit(2)  # e.g. argparse refusing what the tool parsed

    with TestClient(_app(tmp_path, tools=[get_weather]), base_url=LOCAL) as client:
        events = _run(client, user_input("t1", "What is the weather in Paris?"))
        assert events[-1]["type"] == "RUN_ERROR"
        assert events[-1]["message"] == "a tool called sys.exit(2); the turn stopped"
        assert "sys.exit(2)" in caplog.text  # the operator learns of it
        again = _run(client, user_input("t2", "hello"))  # the server goes on
        assert again[-1]["type"] == "RUN_FINISHED"

    def get_time(city: str) -> str:
        """Get the time.

        Args:
            city: The city.
        """
        raise KeyboardInterrupt  # raised by the tool's code, not a Ctrl-C of the server

    with TestClient(_app(tmp_path, tools=[get_time]), base_url=LOCAL) as client:
        events = _run(client, user_input("t3", "What time is it in Paris?"))
        assert events[-1]["type"] == "RUN_ERROR" and "KeyboardInterrupt" in events[-1]["message"]
        assert _run(client, user_input("t4", "hello"))[-1]["type"] == "RUN_FINISHED"


def test_a_server_side_bug_is_logged_and_the_page_gets_no_internals(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from agentloop import Agent

    def instructions(ctx: Any) -> str:
        raise ValueError("postgresql://app:hunter2@db/prod is down")

    agent = Agent("a", instructions=instructions)
    with TestClient(_app(tmp_path, tools=[], agent=agent), base_url=LOCAL) as client:
        events = _run(client, user_input("t1", "hello"))
    assert events[-1]["type"] == "RUN_ERROR" and "hunter2" not in json.dumps(events)
    assert "hunter2" in caplog.text  # in the server's log, where the operator looks


def test_following_a_run_stops_when_the_client_has_gone() -> None:
    """A closed connection ends the SSE response's frames (the run goes on; ``/events``
    replays it) instead of writing on to it, a warning per frame."""
    import asyncio

    from agentloop.web._routes import _while_connected

    closed: list[bool] = []

    async def frames() -> Any:
        try:
            for i in range(1000):
                yield f"data: {i}\n\n"
        finally:
            closed.append(True)

    class GoneAfterTwo:
        calls = 0

        async def is_disconnected(self) -> bool:
            self.calls += 1
            return self.calls > 2

    async def read() -> list[str]:
        return [frame async for frame in _while_connected(frames(), GoneAfterTwo())]  # type: ignore[arg-type]

    assert asyncio.run(read()) == ["data: 0\n\n", "data: 1\n\n"] and closed == [True]


def test_a_turn_that_failed_mid_answer_shows_its_message_once(tmp_path: Path) -> None:
    """The model saw the message (its stream broke after it began answering): it stays in
    history, and the page draws the error after it, not the message a second time."""
    from agentloop.testing import Emulator

    emu = Emulator()
    app = create_app(client=emu.async_client(api_key="k"), store=tmp_path / "w.db")
    with TestClient(app, base_url=LOCAL) as client:
        emu.faults.stream_error(4, count=5)
        assert _run(client, user_input("g1", "FIRST that fails"))[-1]["type"] == "RUN_ERROR"
        emu.faults.clear()
        assert _run(client, user_input("g1", "second"))[-1]["type"] == "RUN_FINISHED"
        items = client.get("/api/sessions/g1").json()["items"]
    firsts = [i for i in items if i["kind"] == "user" and i.get("text") == "FIRST that fails"]
    assert len(firsts) == 1
    kinds = [i["kind"] for i in items]
    assert kinds.index("error") == kinds.index("user") + 1  # the error right after it


def test_a_new_message_closes_the_call_that_waited_for_approval(client: TestClient) -> None:
    """AG-UI clients get a TOOL_CALL_RESULT for the call a new message retired (else their
    tool call never ends)."""
    events = _run(client, user_input("a9", "Please delete the file notes.txt"))
    call_id = events[-1]["outcome"]["interrupts"][0]["toolCallId"]
    events = _run(client, user_input("a9", "never mind"))
    result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
    assert result["toolCallId"] == call_id and "did not approve" in result["content"]
    assert events[-1]["type"] == "RUN_FINISHED"


def test_a_session_whose_stored_data_is_corrupt_is_a_logged_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Not the client's mistake (a 400), and not a silent one."""
    import sqlite3

    with TestClient(_app(tmp_path), base_url=LOCAL) as client:
        _run(client, user_input("c1", "hello"))
    with sqlite3.connect(tmp_path / "web.db") as db:
        db.execute(
            "update records set data = '{not json' where conversation_id = 'c1' and seq = "
            "(select min(seq) from records where conversation_id = 'c1')"
        )
    with TestClient(_app(tmp_path), base_url=LOCAL) as client:
        got = client.get("/api/sessions/c1")
    assert got.status_code == 500 and "server's log" in got.json()["error"]
    assert "/api/sessions/c1" in caplog.text
