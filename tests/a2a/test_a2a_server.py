"""``agentloop.a2a.create_app`` driven by the a2a-sdk's own client, in process."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from _lazy import lazy_module
from a2a_helpers import BASE, Server, collect, deleted, message, weather_agent
from pydantic import BaseModel

from agentloop import Agent, tool
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator

# a2a-sdk and agentloop.a2a load in the worker that runs these tests, not at collection.
a2a_client = lazy_module("a2a.client")
proto = lazy_module("a2a.helpers.proto_helpers")
a2a_types = lazy_module("a2a.types")
agentloop_a2a = lazy_module("agentloop.a2a")


async def test_card_names_the_agent_and_one_skill_per_tool(server: Server) -> None:
    card = await a2a_client.A2ACardResolver(server.http, BASE).get_agent_card()
    assert card.name == "weather" and card.skills[0].name == "get_weather"
    response = await server.http.get("/.well-known/agent-card.json")
    assert response.status_code == 200
    data = response.json()
    assert data["name"] == "weather"
    assert data["description"] == "Knows the weather of any city."
    assert [s["id"] for s in data["skills"]] == ["get_weather", "delete_file"]
    assert data["skills"][0]["description"] == "Get the current weather for a city."
    assert data["capabilities"]["streaming"] is True
    assert data["supportedInterfaces"][0]["url"] == "http://127.0.0.1/"


async def test_card_follows_the_host_and_lists_declared_skills() -> None:
    agent = Agent("plain", description="No tools.")
    srv = Server(agent)
    response = await srv.http.get(
        "/.well-known/agent-card.json", headers={"host": "localhost:9123"}
    )
    data = response.json()
    assert data["supportedInterfaces"][0]["url"] == "http://localhost:9123/"
    assert [s["id"] for s in data["skills"]] == ["plain"]  # no tools: one skill, the agent

    app = agentloop_a2a.create_app(
        agent, client=srv.emulator.async_client(), skills=["triage", {"id": "x"}]
    )
    assert [s.id for s in app.state.agent_card.skills] == ["triage", "x"]


async def test_send_completes_with_the_output_as_artifact(server: Server) -> None:
    client = await server.client()
    events = await collect(client, message("What is the weather in Oslo? use get_weather"))
    assert len(events) == 1 and events[0].HasField("task")
    task = events[0].task
    assert task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    (artifact,) = task.artifacts
    assert artifact.name == "response"
    text = proto.get_artifact_text(artifact)
    assert "get_weather returned" in text and '"temperature": 22' in text
    # The context is a journaled conversation, its id the context id.
    history = server.history(task.context_id)
    assert [c.name for c in history if c.type == "function_call"] == ["get_weather"]
    assert history[-1].type == "model_output"


async def test_stream_sends_progress_then_the_whole_output(server: Server) -> None:
    client = await server.client(streaming=True)
    events = await collect(client, message("weather in Paris? use get_weather"))
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "task"
    assert events[0].task.status.state == a2a_types.TaskState.TASK_STATE_SUBMITTED
    states = [e.status_update.status.state for e in events if e.HasField("status_update")]
    assert states[0] == a2a_types.TaskState.TASK_STATE_WORKING
    assert states[-1] == a2a_types.TaskState.TASK_STATE_COMPLETED
    progress = [
        e.status_update.status.message.parts[0].text
        for e in events
        if e.HasField("status_update") and e.status_update.status.message.parts
    ]
    assert progress == ["calling get_weather", "get_weather done"]
    chunks = [e.artifact_update for e in events if e.HasField("artifact_update")]
    assert len(chunks) > 2
    assert not chunks[0].append and all(c.append for c in chunks[1:-1])
    final = chunks[-1]
    assert final.last_chunk and not final.append
    streamed = "".join(c.artifact.parts[0].text for c in chunks[:-1])
    assert streamed == final.artifact.parts[0].text
    task = await client.get_task(a2a_types.GetTaskRequest(id=chunks[0].task_id))
    assert proto.get_artifact_text(task.artifacts[0]) == streamed  # the stored task has it whole


class Forecast(BaseModel):
    city: str
    temperature: int


async def test_structured_output_is_a_data_part() -> None:
    srv = Server(Agent("forecaster", response_model=Forecast))
    events = await collect(await srv.client(), message("forecast for Rome"))
    (artifact,) = events[0].task.artifacts
    (data,) = proto.get_data_parts(artifact.parts)
    assert set(data) == {"city", "temperature"}
    assert Forecast.model_validate_json(artifact.parts[0].text)  # the text is the JSON


async def test_approval_puts_the_task_in_input_required_and_approve_continues(
    server: Server,
) -> None:
    client = await server.client()
    (first,) = await collect(client, message("please delete_file notes.txt"))
    task = first.task
    assert task.status.state == a2a_types.TaskState.TASK_STATE_INPUT_REQUIRED
    asked = task.status.message
    assert "delete_file" in asked.parts[0].text
    (pending,) = proto.get_data_parts(asked.parts)
    assert [p["name"] for p in pending["pending_approvals"]] == ["delete_file"]
    assert deleted == []

    # Not a decision: still waiting, nothing ran.
    (again,) = await collect(client, message("what?", context_id=task.context_id, task_id=task.id))
    assert again.task.status.state == a2a_types.TaskState.TASK_STATE_INPUT_REQUIRED
    assert deleted == []

    (done,) = await collect(client, message("approve", context_id=task.context_id, task_id=task.id))
    assert done.task.id == task.id
    assert done.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    assert deleted == [pending["pending_approvals"][0]["arguments"]["path"]]
    assert "delete_file returned" in proto.get_artifact_text(done.task.artifacts[0])


async def test_a_data_part_rejects_with_a_reason(server: Server) -> None:
    client = await server.client()
    (first,) = await collect(client, message("please delete_file a.txt"))
    task = first.task
    reply = a2a_types.Message(
        role=a2a_types.Role.ROLE_USER,
        message_id="m2",
        context_id=task.context_id,
        task_id=task.id,
        parts=[proto.new_data_part({"approve": False, "reason": "keep it"})],
    )
    (done,) = await collect(client, a2a_types.SendMessageRequest(message=reply))
    assert done.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    assert deleted == []
    history = server.history(task.context_id)
    (result,) = [s for s in history if s.type == "function_result"]
    assert result.is_error and "keep it" in str(result.result)


async def test_cancel_stops_the_turn_and_the_context_goes_on() -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    @tool
    async def slow_job(name: str) -> str:
        """A job that takes long.

        Args:
            name: The job.
        """
        started.set()
        await release.wait()
        return "finished"

    srv = Server(Agent("worker", tools=[slow_job]))
    client = await srv.client()
    request = message("run slow_job nightly")
    request.configuration.CopyFrom(a2a_types.SendMessageConfiguration(return_immediately=True))
    (first,) = await collect(client, request)
    task = first.task
    await asyncio.wait_for(started.wait(), 10)
    cancelled = await client.cancel_task(a2a_types.CancelTaskRequest(id=task.id))
    assert cancelled.status.state == a2a_types.TaskState.TASK_STATE_CANCELED
    stored = await client.get_task(a2a_types.GetTaskRequest(id=task.id))
    assert stored.status.state == a2a_types.TaskState.TASK_STATE_CANCELED
    release.set()

    # The same context takes the next message: the interrupted call was answered with what
    # is known (issue 20): the job, released during the cancellation's grace period,
    # finished, and its real result is recorded, never "not run".
    (next_turn,) = await collect(client, message("hello again", context_id=task.context_id))
    assert next_turn.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    history = srv.history(task.context_id)
    results = [s for s in history if s.type == "function_result"]
    assert len(results) == 1 and results[0].result == "finished" and not results[0].is_error


async def test_a_context_goes_on_after_a_restart(tmp_path: Any) -> None:
    path = tmp_path / "a2a.db"
    first = Server(weather_agent, SQLiteStore(path))
    (reply,) = await collect(await first.client(), message("I have 2 dogs."))
    context_id = reply.task.context_id
    await first.http.aclose()
    first.store.close()

    second = Server(weather_agent, SQLiteStore(path))  # a new process: new app, new emulator
    (again,) = await collect(
        await second.client(), message("How many paws do they have?", context_id=context_id)
    )
    assert again.task.context_id == context_id
    assert "8" in proto.get_artifact_text(again.task.artifacts[0])
    history = second.history(context_id)
    assert [s.type for s in history].count("user_input") == 2
    # The task of before the restart is read back from its context's journal.
    old = await (await second.client()).get_task(a2a_types.GetTaskRequest(id=reply.task.id))
    assert old.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    text = proto.get_artifact_text(reply.task.artifacts[0])
    assert proto.get_artifact_text(old.artifacts[0]) == text


async def test_input_required_survives_a_restart_under_the_same_task_id(tmp_path: Any) -> None:
    path = tmp_path / "a2a.db"
    first = Server(weather_agent, SQLiteStore(path))
    (reply,) = await collect(await first.client(), message("please delete_file old.log"))
    task = reply.task
    first.store.close()
    deleted.clear()

    second = Server(weather_agent, SQLiteStore(path))
    client = await second.client()
    waiting = await client.get_task(a2a_types.GetTaskRequest(id=task.id))
    assert waiting.status.state == a2a_types.TaskState.TASK_STATE_INPUT_REQUIRED
    (done,) = await collect(client, message("approve", context_id=task.context_id, task_id=task.id))
    assert done.task.id == task.id
    assert done.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    assert len(deleted) == 1
    # a made-up id in a real context is still unknown
    with pytest.raises(a2a_types.TaskNotFoundError):
        await client.get_task(a2a_types.GetTaskRequest(id=f"{task.context_id}~nothing"))


async def test_input_required_survives_a_restart(tmp_path: Any) -> None:
    path = tmp_path / "a2a.db"
    first = Server(weather_agent, SQLiteStore(path))
    (reply,) = await collect(await first.client(), message("please delete_file old.log"))
    assert reply.task.status.state == a2a_types.TaskState.TASK_STATE_INPUT_REQUIRED
    first.store.close()
    deleted.clear()

    # A client that lost the task id answers in the context: the journal knows what waits.
    second = Server(weather_agent, SQLiteStore(path))
    (done,) = await collect(await second.client(), message("yes", context_id=reply.task.context_id))
    assert done.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    assert len(deleted) == 1  # approved after the restart, ran once


async def test_unknown_task_ids_get_the_protocol_error(server: Server) -> None:
    client = await server.client()
    with pytest.raises(a2a_types.TaskNotFoundError):
        await client.get_task(a2a_types.GetTaskRequest(id="no-such-task"))
    with pytest.raises(a2a_types.TaskNotFoundError):
        await client.cancel_task(a2a_types.CancelTaskRequest(id="no-such-task"))
    with pytest.raises(a2a_types.TaskNotFoundError):
        await collect(client, message("hi", task_id="no-such-task"))
    for odd in ("~", "~abc", " ~x"):  # (an empty context part: not found, no server error)
        with pytest.raises(a2a_types.TaskNotFoundError):
            await client.get_task(a2a_types.GetTaskRequest(id=odd))


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", -32700),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "NoSuchMethod", "params": {}}', -32601),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": 3}}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}}', -32602),
        (b'{"id": 1, "method": "GetTask"}', -32600),
        (b"[]", -32600),
    ],
)
async def test_malformed_requests_get_jsonrpc_errors(
    server: Server, body: bytes, code: int
) -> None:
    response = await server.http.post(
        "/", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("method", ["SendMessage", "SendStreamingMessage"])
@pytest.mark.parametrize(
    ("message", "says"),
    [
        ({"parts": []}, "at least one element"),
        ({"role": "ROLE_AGENT", "parts": [{"text": "x"}]}, "role ROLE_USER"),
        ({"parts": [{"text": "  "}]}, "part 0 has empty text"),
        ({"parts": [{"url": "http://example.com/a.png"}]}, "part 0 is url"),
        ({"contextId": "x" * 300, "parts": [{"text": "hi"}]}, "is 300 characters long"),
        ({"contextId": "a\nb", "parts": [{"text": "hi"}]}, "has control characters"),
        ({"contextId": " ", "parts": [{"text": "hi"}]}, "blanks at an end"),
    ],
)
async def test_messages_no_turn_can_start_from_are_invalid_params(
    server: Server, method: str, message: dict[str, Any], says: str
) -> None:
    body = {"messageId": "m1", "role": "ROLE_USER", **message}
    response = await server.http.post(
        "/",
        json={"jsonrpc": "2.0", "id": 7, "method": method, "params": {"message": body}},
    )
    assert response.status_code == 200
    text = response.text
    if method == "SendStreamingMessage" and text.startswith("data:"):
        text = text.removeprefix("data:").strip()
    import json

    error = json.loads(text)["error"]
    assert error["code"] == -32602 and says in json.dumps(error), error


async def test_the_token_guards_every_request_but_the_card() -> None:
    srv = Server(weather_agent, token="s3cret-token")
    card = await srv.http.get("/.well-known/agent-card.json", headers={"authorization": ""})
    assert card.status_code == 200
    assert "s3cret-token" not in card.text
    assert card.json()["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"] == "bearer"
    body = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}
    for given in ("", "Bearer wrong", "Basic s3cret-token"):
        refused = await srv.http.post("/", json=body, headers={"authorization": given})
        assert refused.status_code == 401 and "s3cret-token" not in refused.text
    # With the token a foreign host name is fine (served beyond loopback on purpose).
    ok = await srv.http.post("/", json=body, headers={"host": "agents.example.com"})
    assert ok.json()["error"]["code"] == -32001


async def test_without_a_token_only_loopback_hosts_and_same_origin(server: Server) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}
    rebound = await server.http.post("/", json=body, headers={"host": "evil.example:8000"})
    assert rebound.status_code == 403
    card = await server.http.get("/.well-known/agent-card.json", headers={"host": "evil.example"})
    assert card.status_code == 403
    cross = await server.http.post("/", json=body, headers={"origin": "http://evil.example"})
    assert cross.status_code == 403
    same = await server.http.post("/", json=body, headers={"origin": "http://127.0.0.1"})
    assert same.json()["error"]["code"] == -32001


async def test_a_new_task_in_a_waiting_context_is_a_new_turn_unless_it_decides(
    server: Server,
) -> None:
    client = await server.client()
    (first,) = await collect(client, message("please delete_file a.txt"))
    task = first.task
    # Cancelling the waiting task ends it; the context's next question is a new turn.
    cancelled = await client.cancel_task(a2a_types.CancelTaskRequest(id=task.id))
    assert cancelled.status.state == a2a_types.TaskState.TASK_STATE_CANCELED
    (next_turn,) = await collect(client, message("hello", context_id=task.context_id))
    assert next_turn.task.id != task.id
    assert next_turn.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    assert deleted == []
    history = server.history(task.context_id)
    (result,) = [s for s in history if s.type == "function_result"]
    assert result.is_error and "did not approve" in str(result.result)


async def test_only_recent_contexts_stay_in_memory(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agentloop.a2a._server as served

    monkeypatch.setattr(served, "MAX_LIVE", 2)
    client = await server.client()
    contexts = []
    for text in ("one", "two", "three"):
        (reply,) = await collect(client, message(text))
        contexts.append(reply.task.context_id)
    executor = server.app.state.executor
    assert list(executor.live) == contexts[1:]
    # The dropped context is loaded from its journal when it speaks again.
    (again,) = await collect(client, message("one more", context_id=contexts[0]))
    assert again.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    conv = executor.live[contexts[0]]
    assert [s.type for s in conv.history].count("user_input") == 2


async def test_other_conversations_of_the_store_are_out_of_reach(server: Server) -> None:
    from agentloop import Conversation

    chat = Conversation(server.emulator.client(), store=server.store, id="chat-1")
    chat.send("my private chat")
    version = server.store.version("chat-1")
    params = {
        "message": {
            "messageId": "m1",
            "role": "ROLE_USER",
            "contextId": "chat-1",
            "parts": [{"text": "what did I say?"}],
        }
    }
    reply = await server.rpc("SendMessage", params)
    assert (
        reply["error"]["code"] == -32602 and "did not start over A2A" in reply["error"]["message"]
    )
    assert server.store.version("chat-1") == version  # untouched


async def test_each_pending_call_can_get_its_own_decision() -> None:
    from agentloop.testing import ScriptedModel

    calls = [
        {"type": "function_call", "id": f"c{n}", "name": "delete_file", "arguments": {"path": p}}
        for n, p in ((1, "a.txt"), (2, "b.txt"))
    ]
    srv = Server(weather_agent, model=ScriptedModel().add(calls, "done"))
    deleted.clear()
    client = await srv.client()
    (first,) = await collect(client, message("delete a.txt and b.txt"))
    task = first.task
    (pending,) = proto.get_data_parts(task.status.message.parts)
    assert [p["call_id"] for p in pending["pending_approvals"]] == ["c1", "c2"]
    decisions = {"c1": {"approve": True}, "c2": {"approve": False, "reason": "keep b"}}
    reply = a2a_types.Message(
        role=a2a_types.Role.ROLE_USER,
        message_id="m2",
        context_id=task.context_id,
        task_id=task.id,
        parts=[proto.new_data_part({"decisions": decisions})],
    )
    (done,) = await collect(client, a2a_types.SendMessageRequest(message=reply))
    assert done.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    assert deleted == ["a.txt"]
    results = {s.call_id: s for s in srv.history(task.context_id) if s.type == "function_result"}
    assert not results["c1"].is_error and results["c2"].is_error
    assert "keep b" in str(results["c2"].result)


async def test_the_key_and_the_token_never_reach_the_card_the_tasks_or_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key, token = "gemini-key-sentinel-1234", "a2a-token-sentinel-5678"
    emulator = Emulator(api_keys={key})
    for agent in (weather_agent, Agent("broken", model="gemini-no-such-model")):
        srv = Server(agent, token=token)
        srv.app = agentloop_a2a.create_app(
            agent, client=emulator.async_client(api_key=key), token=token
        )
        srv.http._transport = httpx.ASGITransport(srv.app)
        with caplog.at_level(logging.DEBUG):
            card = await srv.http.get("/.well-known/agent-card.json")
            events = await collect(await srv.client(streaming=True), message("weather in Oslo?"))
        seen = card.text + "".join(str(e) for e in events) + caplog.text
        assert "Oslo" in seen
        assert key not in seen
        assert token not in seen


def test_the_card_does_not_start_toolsets() -> None:
    from a2a_helpers import get_weather

    unreachable = agentloop_a2a.A2AAgent(
        "http://127.0.0.1:9"
    )  # its card would be fetched by tools()
    relay = Agent("relay", tools=[get_weather, unreachable])
    app = agentloop_a2a.create_app(relay, client=Emulator().async_client())
    assert [s.id for s in app.state.agent_card.skills] == ["get_weather"]


@pytest.mark.parametrize(
    "chat", ["OK thanks. Now tell me a joke", "No worries. What is the weather in Paris?"]
)
async def test_chat_in_a_new_task_is_never_taken_for_a_decision(server: Server, chat: str) -> None:
    client = await server.client()
    (first,) = await collect(client, message("please delete_file a.txt"))
    (next_turn,) = await collect(client, message(chat, context_id=first.task.context_id))
    assert next_turn.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    assert deleted == []
    users = [s for s in server.history(first.task.context_id) if s.type == "user_input"]
    assert users[-1].content[0].text == chat  # the message reached the model as what it is
    history = server.history(first.task.context_id)
    (result,) = [s for s in history if s.type == "function_result" and s.name == "delete_file"]
    assert result.is_error and "did not approve" in str(result.result)


async def test_a_reply_with_a_reason_after_no_rejects(server: Server) -> None:
    client = await server.client()
    (first,) = await collect(client, message("please delete_file a.txt"))
    task = first.task
    reply = message("no, keep it", context_id=task.context_id, task_id=task.id)
    (done,) = await collect(client, reply)
    assert done.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    (result,) = [s for s in server.history(task.context_id) if s.type == "function_result"]
    assert deleted == [] and "keep it" in str(result.result)


async def test_a_cancelled_waiting_task_withdraws_its_calls(server: Server) -> None:
    client = await server.client()
    (first,) = await collect(client, message("please delete_file a.txt"))
    await client.cancel_task(a2a_types.CancelTaskRequest(id=first.task.id))
    # a bare "yes" in a new task would decide calls still waiting: these were withdrawn
    (next_turn,) = await collect(client, message("yes", context_id=first.task.context_id))
    assert next_turn.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    assert deleted == []


async def test_a_tool_that_exits_ends_its_turn_not_the_server() -> None:
    @tool
    def bail() -> str:
        """Give up."""
        raise SystemExit(3)

    agent = Agent("exiter", instructions="Call bail.", tools=[bail])
    srv = Server(agent)
    client = await srv.client()
    (failed,) = await collect(client, message("please bail"))
    assert failed.task.status.state == a2a_types.TaskState.TASK_STATE_FAILED
    assert "sys.exit(3)" in failed.task.status.message.parts[0].text
    (ok,) = await collect(client, message("hello"))
    assert ok.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED


async def test_another_writer_fails_one_task_then_the_context_goes_on(tmp_path: Any) -> None:
    store = SQLiteStore(tmp_path / "a2a.db")
    srv = Server(weather_agent, store)
    client = await srv.client()
    (first,) = await collect(client, message("hello"))
    context = first.task.context_id
    other = store.load(context, client=Emulator().client(), agent=weather_agent)
    other.send("a CLI chat on the same session")  # another writer
    (clash,) = await collect(client, message("again", context_id=context))
    text = clash.task.status.message.parts[0].text
    assert "another writer" in text and str(tmp_path) not in text
    (after,) = await collect(client, message("and again", context_id=context))
    assert after.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED


async def test_a_body_past_the_limit_is_refused_before_it_is_read(server: Server) -> None:
    big = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {}}}
    padding = "x" * 4_100_000
    response = await server.http.post("/", json={**big, "padding": padding})
    assert response.status_code == 413 and "larger than 4000000 bytes" in response.text

    async def chunks() -> Any:  # no Content-Length: refused as it grows past the limit
        for _ in range(50):
            yield b"x" * 100_000

    streamed = await server.http.post(
        "/", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
