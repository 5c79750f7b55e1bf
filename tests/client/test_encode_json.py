"""``encode_json``: the bytes of ``json.dumps`` (compact, not ASCII-escaped), with every
``RawJSON`` spliced verbatim wherever it sits, and the same errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from agentloop import errors
from agentloop.client._core import ClientConfig, build_create, encode_json
from agentloop.types import RawJSON, TextContent, UserInputStep


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# JSON values; ``RawJSON`` wraps random subtrees (encoded as json.dumps would encode them).
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


def wrap(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with some subtrees replaced by their RawJSON (and some lists by tuples)."""
    if draw(st.integers(0, 3)) == 0:
        return RawJSON(dumps(value))
    if isinstance(value, list):
        items = [wrap(draw, item) for item in value]
        return tuple(items) if draw(st.booleans()) else items
    if isinstance(value, dict):
        return {key: wrap(draw, item) for key, item in value.items()}
    return value


@st.composite
def spliced(draw: st.DrawFn) -> tuple[Any, Any]:
    value = draw(trees)
    return value, wrap(draw, value)


@settings(max_examples=40, deadline=None)
@given(spliced())
def test_bytes_are_json_dumps_with_rawjson_in_place(case: tuple[Any, Any]) -> None:
    plain, with_raw = case
    assert encode_json(plain) == dumps(plain)
    assert encode_json(with_raw) == dumps(plain)


def test_rawjson_is_spliced_verbatim_at_any_depth() -> None:
    odd = RawJSON(b'{ "z" : true }')  # not compact: must not be re-encoded
    value = {
        "a": [1, {"b": odd, 'q"k': "é"}],
        "r": (RawJSON(b"[1]"),),
        "deep": [[[{"x": [odd]}]]],
        "s": frozenset([odd]),
    }
    assert encode_json(value) == (
        b'{"a":[1,{"b":{ "z" : true },"q\\"k":"\xc3\xa9"}],"r":[[1]],'
        b'"deep":[[[{"x":[{ "z" : true }]}]]],"s":[{ "z" : true }]}'
    )
    history = [RawJSON(b'{"type":"user_input","content":"x"}')] * 3
    assert encode_json(history) == b"[" + b",".join(h.data for h in history) + b"]"
    assert encode_json(odd) == odd.data


def test_unicode_is_utf8_and_control_characters_are_escaped() -> None:
    text = 'é ü 😀 \u2028 \x00 \t " \\ /'
    value = {text: [text, RawJSON(dumps(text))]}
    assert encode_json(value) == dumps({text: [text, text]})
    assert "😀".encode() in encode_json(value) and b"\\u0000" in encode_json(value)


class Person(BaseModel):
    full_name: str = Field(alias="fullName")
    nickname: str | None = None


def test_models_sets_and_keys_follow_json() -> None:
    value = {
        "m": TextContent(text="t"),
        "u": UserInputStep(content="hi"),
        "p": Person(fullName="Ada"),  # by alias, without None fields
        "s": {3},
        "n": [None, True, False, 1.5, -0.0, 10**30, float("nan"), float("inf")],
        "k": {1: "a", 2.5: "b", False: "c", None: "d"},
    }
    assert encode_json(value) == dumps(
        {
            "m": TextContent(text="t").model_dump(mode="json"),
            "u": UserInputStep(content="hi").model_dump(mode="json"),
            "p": {"fullName": "Ada"},
            "s": [3],
            "n": value["n"],
            "k": value["k"],
        }
    )
    assert encode_json({"k": {1: RawJSON(b"2")}}) == b'{"k":{"1":2}}'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"x": object()}, "cannot send a object"),
        ([1, {"y": {1j}}], "cannot send a complex"),
        ({"x": {(1, 2): 0}}, "keys must be str"),
    ],
)
def test_unencodable_values_raise_type_error(value: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        encode_json(value)


def test_create_reports_unencodable_bodies_as_request_encoding_errors() -> None:
    config = ClientConfig("k" * 20, "http://x.local", "v1beta")
    cycle: list[Any] = []
    cycle.append(cycle)
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    for bad in (object(), "caf\udce9", {("a",): 1}, cycle, deep, [RawJSON(b"1"), {1j}]):
        with pytest.raises(errors.RequestEncodingError, match="cannot be encoded"):
            build_create(config, {"model": "m", "input": bad})
    spec = build_create(config, {"model": "m", "input": [RawJSON(b'{"a":1}')]})
    assert spec.body == b'{"model":"m","input":[{"a":1}]}'
