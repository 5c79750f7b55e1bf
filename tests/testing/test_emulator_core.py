"""The sans-I/O core: routing, auth, validation, store rules, function calling, signatures."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from emulator_helpers import PATH, call, create, error_of

from agentloop.testing import Emulator, FunctionModel, ModelRequest, Reply, ScriptedModel
from agentloop.types import Interaction

TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def test_any_version_segment_and_prefix() -> None:
    emu = Emulator()
    for path in (
        "/v1/interactions",
        "/v1alpha/interactions",
        "/proxy/v1beta/interactions",
        "/v1beta1/projects/p/locations/us/interactions",
    ):
        res = call(emu, path=path, body={"model": "gemini-3.5-flash", "input": "hi"})
        assert res.status == 200, path
        assert res.headers["content-type"] == "application/json"
    assert error_of(call(emu, path="/v1beta/models"))["status"] == "NOT_FOUND"
    assert call(emu, "PUT", PATH + "/x").status == 405


def test_auth_missing_and_wrong_key() -> None:
    emu = Emulator(api_keys={"good"})
    err = error_of(call(emu, body={"model": "gemini-3.5-flash", "input": "hi"}, key=None))
    assert (err["code"], err["status"]) == (401, "UNAUTHENTICATED")
    assert "x-goog-api-key" in err["message"]
    err = error_of(call(emu, body={"model": "gemini-3.5-flash", "input": "hi"}, key="bad"))
    assert (err["code"], err["status"]) == (403, "PERMISSION_DENIED")
    assert call(emu, body={"model": "gemini-3.5-flash", "input": "hi"}, key="good").status == 200
    # The request log keeps everything but the key.
    assert all(r.headers.get("x-goog-api-key") in (None, "<redacted>") for r in emu.requests)
    assert "good" not in repr(emu.requests) and "bad" not in repr(emu.requests)
    assert emu.requests[-1].json == {"model": "gemini-3.5-flash", "input": "hi"}


def test_any_non_empty_key_when_unrestricted() -> None:
    emu = Emulator()
    body = {"model": "gemini-3.5-flash", "input": "hi"}
    assert call(emu, body=body, key="anything").status == 200
    assert call(emu, body={"model": "gemini-3.5-flash", "input": "hi"}, key="").status == 401


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        ([1, 2], "JSON object"),
        ({"input": "hi"}, "model is required"),
        ({"model": "gemini-3.5-flash", "agent": "a", "input": "hi"}, "either model or agent"),
        ({"agent": "a", "input": "hi", "generation_config": {}}, "generation_config"),
        ({"model": "gemini-3.5-flash", "input": "hi", "tools": [{"type": "function"}]}, "tools[0]"),
        ({"model": "gemini-3.5-flash", "input": "hi", "store": False, "background": True}, "store"),
        ({"model": "gemini-3.5-flash", "input": "hi", "tools": "nope"}, "tools"),
        (
            {"model": "gemini-3.5-flash", "input": "hi", "system_instruction": 5},
            "system_instruction",
        ),
        (
            {
                "model": "gemini-3.5-flash",
                "input": [{"type": "text", "text": "a"}, {"type": "user_input"}],
            },
            "input",
        ),
        ({"model": "gemini-3.5-flash", "input": {"type": "user_input", "content": []}}, "input"),
        ({"model": "gemini-3.5-flash", "input": [{"type": "function_call", "name": "f"}]}, "input"),
        ({"model": "gemini-3.5-flash"}, "input is required"),
    ],
)
def test_malformed_bodies_are_400_naming_the_field(body: Any, needle: str) -> None:
    err = error_of(call(Emulator(), body=body))
    assert (err["code"], err["status"]) == (400, "INVALID_ARGUMENT")
    assert needle in err["message"]


def test_input_forms_and_unknown_keys() -> None:
    model = ScriptedModel(["ok"] * 5)
    emu = Emulator(model)
    create(emu, input="plain", future_field={"x": 1})
    create(emu, input={"type": "text", "text": "block"})
    create(emu, input=[{"type": "text", "text": "a"}, {"type": "image", "uri": "gs://x"}])
    create(emu, input=[{"type": "user_input", "content": "string content"}])
    create(emu, input=[{"type": "user_input", "content": [{"type": "text", "text": "s"}]}])
    texts = [r.last_user_text for r in model.requests]
    assert texts == ["plain", "block", "a", "string content", "s"]
    assert model.requests[3].history[0].content[0].text == "string content"


def test_chaining_rebuilds_history_and_returns_only_new_steps() -> None:
    model = ScriptedModel(["one", "two"])
    emu = Emulator(model)
    first = create(emu, input="first", system_instruction="old", tools=[TOOL])
    second = create(emu, input="second", previous_interaction_id=first["id"])
    seen = model.requests[1]
    assert [s.type for s in seen.history] == ["user_input", "model_output", "user_input"]
    assert seen.tools == [] and seen.system_instruction is None  # current request only
    assert [s["type"] for s in second["steps"]] == ["model_output"]
    assert second["previous_interaction_id"] == first["id"]
    assert Interaction.model_validate(second).output_text == "two"


def test_store_false_and_deleted_ids_are_404() -> None:
    emu = Emulator(ScriptedModel(["a", "b", "c"]))
    gone = create(emu, input="x", store=False)
    assert error_of(call(emu, "GET", f"{PATH}/{gone['id']}"))["status"] == "NOT_FOUND"
    err = error_of(
        call(
            emu,
            body={"model": "gemini-3.5-flash", "input": "y", "previous_interaction_id": gone["id"]},
        )
    )
    assert err["code"] == 404 and gone["id"] in err["message"]
    kept = create(emu, input="z")
    child = create(emu, input="w", previous_interaction_id=kept["id"])
    assert call(emu, "DELETE", f"{PATH}/{kept['id']}").json() == {}
    assert call(emu, "GET", f"{PATH}/{kept['id']}").status == 404
    assert call(emu, "DELETE", f"{PATH}/{kept['id']}").status == 404
    # The child's chain now has a hole: chaining onto it fails loudly too.
    err = error_of(
        call(
            emu,
            body={
                "model": "gemini-3.5-flash",
                "input": "v",
                "previous_interaction_id": child["id"],
            },
        )
    )
    assert err["code"] == 404 and "deleted" in err["message"]


def _calls(*names: str) -> Reply:
    return Reply(
        steps=[{"type": "thought"}]
        + [{"type": "function_call", "name": n, "arguments": {"i": i}} for i, n in enumerate(names)]
    )


def test_requires_action_and_pending_calls_stateful() -> None:
    emu = Emulator(ScriptedModel([_calls("a", "b"), "done"]))
    first = create(emu, input="go")
    assert first["status"] == "requires_action"
    ids = [s["id"] for s in first["steps"] if s["type"] == "function_call"]
    only_one = [{"type": "function_result", "call_id": ids[0], "result": "r"}]
    err = error_of(
        call(
            emu,
            body={
                "model": "gemini-3.5-flash",
                "input": only_one,
                "previous_interaction_id": first["id"],
            },
        )
    )
    assert err["code"] == 400 and ids[1] in err["message"] and ids[0] not in err["message"]
    unknown = [
        *only_one,
        {"type": "function_result", "call_id": ids[1], "result": "r"},
        {"type": "function_result", "call_id": "call_nope", "result": "r"},
    ]
    err = error_of(
        call(
            emu,
            body={
                "model": "gemini-3.5-flash",
                "input": unknown,
                "previous_interaction_id": first["id"],
            },
        )
    )
    assert "call_nope" in err["message"]
    err = error_of(
        call(
            emu,
            body={
                "model": "gemini-3.5-flash",
                "input": "ignore the calls",
                "previous_interaction_id": first["id"],
            },
        )
    )
    assert ids[0] in err["message"]
    # All three result forms and is_error are accepted.
    results = [
        {"type": "function_result", "call_id": ids[0], "result": {"temp": 1}, "is_error": True},
        {
            "type": "function_result",
            "call_id": ids[1],
            "name": "b",
            "result": [{"type": "text", "text": "x"}],
        },
    ]
    done = create(emu, input=results, previous_interaction_id=first["id"])
    assert done["status"] == "completed"
    with_string = create(Emulator(ScriptedModel([_calls("a"), "ok"])), input="go")
    assert with_string["status"] == "requires_action"


def _stateless_turn(emu: Emulator, history: list[Any]) -> dict[str, Any]:
    return create(emu, input=history, store=False)


def test_signatures_catch_rewritten_history() -> None:
    emu = Emulator(
        ScriptedModel(
            [
                Reply(
                    steps=[
                        {"type": "thought", "summary": [{"type": "text", "text": "plan"}]},
                        {"type": "function_call", "name": "a", "arguments": {"x": 1}},
                        {"type": "function_call", "name": "b", "arguments": {}},
                    ]
                ),
            ]
            + ["fine"] * 10
        )
    )
    history: list[Any] = [{"type": "user_input", "content": "go"}]
    first = _stateless_turn(emu, history)
    thought, call_a, call_b = first["steps"]
    good = [
        *history,
        thought,
        call_a,
        {"type": "function_result", "call_id": call_a["id"], "result": "ra"},
        call_b,
        {"type": "function_result", "call_id": call_b["id"], "result": "rb"},
    ]
    assert _stateless_turn(emu, copy.deepcopy(good))["status"] == "completed"

    def rejected(history: list[Any]) -> str:
        res = call(emu, body={"model": "gemini-3.5-flash", "input": history, "store": False})
        err = error_of(res)
        assert err["code"] == 400 and "exactly as received" in err["message"]
        return str(err["message"])

    altered = copy.deepcopy(good)
    altered[2]["arguments"] = {"x": 2}
    assert "input[2] (function_call)" in rejected(altered)
    altered = copy.deepcopy(good)
    altered[1]["summary"][0]["text"] = "other plan"
    assert "input[1] (thought) was altered" in rejected(altered)
    altered = copy.deepcopy(good)
    altered[1]["signature"] = altered[1]["signature"][:-8] + "AAAAAAA="
    assert "did not issue" in rejected(altered)
    altered = copy.deepcopy(good)
    del altered[1]["signature"]
    assert "no signature" in rejected(altered)
    invented = [
        {"type": "user_input", "content": "go"},
        {"type": "thought", "signature": "aW52ZW50ZWQ="},
        {"type": "model_output", "content": [{"type": "text", "text": "x"}]},
    ]
    assert "did not issue" in rejected(invented)
    dropped = [s for s in good if s is not call_b and s.get("call_id") != call_b["id"]]
    assert "missing" in rejected(dropped)
    # A new emulator accepts them (one default key, like the API across sessions); one
    # with another signing key does not.
    body = {"model": "gemini-3.5-flash", "input": good, "store": False}
    assert call(Emulator(ScriptedModel(["x"])), body=body).status == 200
    other = Emulator(ScriptedModel(["x"]), signing_key=b"another key")
    assert call(other, body=body).status == 400


def test_signatures_survive_null_fields() -> None:
    emu = Emulator()
    first = create(emu, input="hello", store=False)
    history = [{"type": "user_input", "content": "hello"}]
    history += [{**s, "summary": None} if s["type"] == "thought" else s for s in first["steps"]]
    history.append({"type": "user_input", "content": "again"})
    assert create(emu, input=history, store=False)["status"] == "completed"


def test_model_errors_are_500_and_an_exhausted_script_is_a_clear_400() -> None:
    emu = Emulator(ScriptedModel(["only one"]))
    create(emu, input="a")
    err = error_of(call(emu, body={"model": "gemini-3.5-flash", "input": "b"}))
    assert (err["code"], err["status"]) == (400, "FAILED_PRECONDITION")
    assert "ScriptedModel has no replies left (1 were given)" in err["message"]

    def broken(request: ModelRequest) -> str:
        raise RuntimeError("boom")

    err = error_of(
        call(Emulator(FunctionModel(broken)), body={"model": "gemini-3.5-flash", "input": "x"})
    )
    assert "RuntimeError: boom" in err["message"]
    bad = Emulator(ScriptedModel([[{"type": "function_call", "arguments": {}}]]))
    assert (
        "invalid function_call step"
        in error_of(call(bad, body={"model": "gemini-3.5-flash", "input": "x"}))["message"]
    )


def test_function_model_forms_and_reply_status() -> None:
    def three(history: list[Any], tools: list[Any], request: ModelRequest) -> Reply:
        return Reply(
            steps=[f"{len(history)} steps, {len(tools)} tools"],
            status="incomplete",
            usage={"total_tokens": 7},
            errors=[{"code": "max_tokens", "message": "cut"}],
        )

    emu = Emulator(FunctionModel(three))
    out = create(emu, input="x", tools=[TOOL])
    assert out["status"] == "incomplete" and out["usage"] == {"total_tokens": 7}
    assert out["errors"][0]["code"] == "max_tokens"
    assert out["steps"][0]["content"][0]["text"] == "1 steps, 1 tools"


def test_scripted_callables_and_usage() -> None:
    model = ScriptedModel([lambda req: f"echo {req.last_user_text}"])
    emu = Emulator(model, clock=lambda: 0.0)
    out = create(emu, input="hi there")
    assert out["steps"][0]["content"][0]["text"] == "echo hi there"
    assert out["created"] == "1970-01-01T00:00:00Z"
    usage = out["usage"]
    assert usage["total_tokens"] == usage["total_input_tokens"] + usage["total_output_tokens"] > 0
    assert out["id"].startswith("v1_") and model.remaining == 0


def test_include_input_and_agent_form() -> None:
    emu = Emulator()
    out = create(emu, input=[{"type": "user_input", "content": "x"}])
    got = call(emu, "GET", f"{PATH}/{out['id']}", query={"include_input": "true"}).json()
    assert got["input"] == [{"type": "user_input", "content": "x"}]
    assert "input" not in call(emu, "GET", f"{PATH}/{out['id']}").json()
    agent = call(
        emu,
        body={
            "agent": "deep-research-preview-04-2026",
            "input": "research",
            "environment": {"type": "remote", "environment_id": "env_mine"},
        },
    )
    assert agent.json()["environment_id"] == "env_mine" and agent.json()["agent"]
    follow = create(
        emu,
        model=None,
        agent="deep-research-preview-04-2026",
        input="more",
        previous_interaction_id=agent.json()["id"],
    )
    assert follow["environment_id"] == "env_mine"
