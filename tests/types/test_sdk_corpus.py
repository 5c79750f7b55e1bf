"""The conformance corpus, rebuilt from the installed official SDK on every run (sdk_corpus.py).

* Every SDK class, union variant and closed value reached from the request bodies, the
  ``Interaction`` resource and the stream events is in a maximal payload; each payload
  round-trips through agentloop's types byte-equivalently (canonical JSON).
* For every required field of every server-side class (reached from ``Interaction`` or the
  stream events), the payload without it is accepted by ``Interaction``, by the streaming
  accumulator and by ``Conversation``.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _lazy import lazy_module
from _sdk import models_built_once
from pydantic import BaseModel, TypeAdapter
from sdk_corpus import SDK_ONLY, Corpus, Typing, build, compare

from agentloop import Client, Conversation
from agentloop import types as ours
from agentloop.client._stream import StreamAccumulator, event_adapter
from agentloop.errors import MalformedResponseError

# The SDK warns about its own deprecated fields when the corpus sets them: expected here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# The official SDK (imported by the first test that reads it, not at collection).
sdk = lazy_module("google.genai.interactions")
serializers = lazy_module("google.genai._gaos.utils.serializers")


@pytest.fixture(scope="module", autouse=True)
def _sdk_models_built_once() -> Iterator[None]:
    with models_built_once():
        yield


# root (the SDK's class name) -> our type
ROOTS: dict[str, Any] = {
    "Interaction": ours.Interaction,
    "InteractionSSEEvent": ours.InteractionEvent,
    "CreateModelInteraction": ours.CreateInteractionRequest,
    "CreateAgentInteraction": ours.CreateInteractionRequest,
}
SERVER_ROOTS = ("Interaction", "InteractionSSEEvent")


def types_of(root: str) -> tuple[Any, Any]:
    """(the SDK's type, our type) of a root."""
    return getattr(sdk, root), ROOTS[root]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sdk_wire(value: Any) -> Any:
    data = value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {k: v for k, v in data.items() if k not in SDK_ONLY}


@functools.cache
def corpus(root: str) -> tuple[Corpus, list[Any]]:
    """The root's corpus and its payloads in the SDK's own canonical wire form."""
    sdk_type, _ = types_of(root)
    reached, payloads = build(sdk_type)
    adapter = TypeAdapter(sdk_type)
    # Strict (request-mode) validation: every generated payload is a valid known variant.
    return reached, [_sdk_wire(adapter.validate_python(p)) for p in payloads]


def test_the_corpus_reaches_the_whole_sdk() -> None:
    classes: set[type[BaseModel]] = set()
    variants: set[tuple[str, str]] = set()
    literals: set[tuple[str, str]] = set()
    for root in ROOTS:
        reached, _ = corpus(root)
        classes |= reached.classes
        variants |= reached.variants
        literals |= reached.literals
    names = {c.__name__ for c in classes}
    # The spine of the API is there (the walk follows every field, union and alias).
    assert {"Interaction", "FunctionCallStep", "StepDelta", "Environment", "Usage"} <= names
    assert len(classes) >= 130, len(classes)
    assert len(variants) >= 500, len(variants)
    assert len(literals) >= 400, len(literals)
    print(f"corpus: {len(classes)} classes, {len(variants)} variants, {len(literals)} values")


@pytest.mark.parametrize("root", list(ROOTS))
def test_every_payload_round_trips_byte_equivalently(root: str) -> None:
    _, ours_type = types_of(root)
    adapter = TypeAdapter(ours_type)
    _, payloads = corpus(root)
    assert payloads
    for n, payload in enumerate(payloads):
        wire = _canonical(payload)
        value = adapter.validate_json(wire)
        again = json.loads(adapter.dump_json(value, by_alias=True, exclude_unset=True))
        assert _canonical(again) == wire, f"{root} payload {n} changed on the round trip"


def test_every_sdk_field_and_value_set_is_typed() -> None:
    """Every field the SDK types is typed here too, and every closed value set lists at least
    the SDK's values (as ``Literal[...] | str``). ``input`` alone stays plain JSON: its forms
    (text, a block, blocks, steps) are told apart by ``input_to_steps``, which names a mix."""
    typing_ = Typing()
    seen: set[Any] = set()
    for root in ROOTS:
        sdk_type, ours_type = types_of(root)
        compare(sdk_type, ours_type, root, typing_, seen)
    untyped = {site for site in typing_.untyped if not site.split("<")[0].endswith(".input")}
    untyped -= {site for site in typing_.untyped if site.endswith(".input[]")}
    assert not untyped, sorted(untyped)
    assert not typing_.open_sets, typing_.open_sets
    share = len(typing_.typed) / (len(typing_.typed) + len(typing_.untyped))
    print(f"typed: {len(typing_.typed)} fields ({share:.1%}); open value sets all listed")


# --- required fields dropped ------------------------------------------------------------------


def _locate(
    value: Any, path: tuple[Any, ...], found: dict[type[BaseModel], tuple[Any, ...]]
) -> None:
    """Record the first path of each SDK class in a validated SDK object tree."""
    if isinstance(value, BaseModel):
        cls = type(value)
        if cls.__name__.startswith("Unknown"):
            return
        found.setdefault(cls, path)
        for name, info in cls.model_fields.items():
            if name in SDK_ONLY:
                continue
            item = value.__dict__.get(name)
            if item is not None:
                _locate(item, (*path, info.alias or name), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _locate(item, (*path, index), found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _locate(item, (*path, key), found)


@functools.cache
def drops(root: str) -> list[tuple[str, str, Any]]:
    """(class, field, payload without that field) for every required field of every class."""
    sdk_type, _ = types_of(root)
    reached, payloads = corpus(root)
    adapter = TypeAdapter(sdk_type)
    where: dict[type[BaseModel], tuple[int, tuple[Any, ...]]] = {}
    # Smallest payloads first: each class is dropped from the smallest payload holding it.
    for n, payload in sorted(enumerate(payloads), key=lambda item: len(_canonical(item[1]))):
        found: dict[type[BaseModel], tuple[Any, ...]] = {}
        _locate(adapter.validate_python(payload), (), found)
        for cls, path in found.items():
            where.setdefault(cls, (n, path))
    out = []
    for cls, key in sorted(reached.required, key=lambda r: (r[0].__name__, r[1])):
        if (cls, key) == (sdk.Interaction, "status"):
            continue  # a body without a status is not an interaction (the SDK refuses it too)
        n, path = where[cls]
        payload = copy.deepcopy(payloads[n])
        node = payload
        for part in path:
            node = node[part]
        del node[key]
        out.append((cls.__name__, key, payload))
    return out


def _as_response(payload: dict[str, Any]) -> dict[str, Any]:
    """A corpus interaction as a finished response a conversation can take."""
    data = {k: v for k, v in payload.items() if k not in ("continuation_token", "errors")}
    return {**data, "id": "int_corpus", "status": "completed"}


def _as_events(interaction: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream of an interaction: created, each step started and stopped, completed."""
    head = {k: v for k, v in interaction.items() if k != "steps"}
    events: list[dict[str, Any]] = [
        {"event_type": "interaction.created", "interaction": {**head, "status": "in_progress"}}
    ]
    for index, step in enumerate(interaction.get("steps") or []):
        events.append({"event_type": "step.start", "index": index, "step": step})
        events.append({"event_type": "step.stop", "index": index})
    events.append({"event_type": "interaction.completed", "interaction": head})
    return events


def _around(event: dict[str, Any]) -> list[dict[str, Any]]:
    """A corpus event inside a stream that starts and finishes an interaction."""
    if event.get("event_type") in ("error", "interaction.completed"):
        event = {**event, "event_type": "x.corpus_event"}  # keep the stream going
    return [
        {
            "event_type": "interaction.created",
            "interaction": {"id": "int_c", "status": "in_progress"},
        },
        event,
        {
            "event_type": "interaction.completed",
            "interaction": {"id": "int_c", "status": "completed"},
        },
    ]


def _accumulate(events: list[dict[str, Any]]) -> ours.Interaction:
    acc = StreamAccumulator()
    for event in events:
        acc.feed(event_adapter.validate_json(json.dumps(event)))
    return acc.interaction


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)


_REPLIES: list[httpx.Response] = []


def _answer(request: httpx.Request) -> httpx.Response:
    plain = {
        "id": "int_after",
        "status": "completed",
        "steps": [{"type": "model_output", "content": [{"type": "text", "text": "ok"}]}],
    }
    return _REPLIES.pop(0) if _REPLIES else httpx.Response(200, json=plain)


@functools.cache
def _client() -> Client:
    # One client for every case (building an httpx client per case costs more than the case).
    return Client(api_key="k", http_client=httpx.Client(transport=httpx.MockTransport(_answer)))


def _converse(reply: httpx.Response, *, stream: bool) -> None:
    _REPLIES[:] = [reply]
    conv = Conversation(_client(), strategy="stateless", max_steps=3)
    try:
        if stream:
            for _ in conv.stream("hi"):
                pass
        else:
            conv.send("hi")
    except MalformedResponseError as exc:
        # The one strict case: a function_call without a name cannot be answered.
        assert "without a name" in str(exc)
    finally:
        conv.close()


@pytest.mark.parametrize("root", SERVER_ROOTS)
def test_every_required_field_may_be_missing(root: str) -> None:
    cases = drops(root)
    sdk_type, _ = types_of(root)
    sdk_adapter = TypeAdapter(sdk_type)
    sdk_accepts = 0
    for cls, key, payload in cases:
        where = f"{root}: {cls} without {key!r}"
        try:
            sdk_adapter.validate_python(
                payload, context={serializers.ALLOW_UNKNOWN_UNION_VARIANTS: True}
            )
            sdk_accepts += 1
        except ValueError:
            pass
        if root == "Interaction":
            interaction = ours.Interaction.model_validate_json(json.dumps(payload))
            assert interaction.status, where
            response = _as_response(payload)
            assert _accumulate(_as_events(response)).status == "completed", where
            _converse(httpx.Response(200, json=response), stream=False)
            events = _as_events(response)
        else:
            ours.Interaction.model_validate_json(json.dumps(_as_response({})))
            events = _around(payload)
            assert _accumulate(events).id == "int_c", where
        sse = httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=_sse(events)
        )
        _converse(sse, stream=True)
    assert len(cases) >= 35
    print(f"{root}: {len(cases)} required fields dropped, all accepted (the SDK: {sdk_accepts})")
