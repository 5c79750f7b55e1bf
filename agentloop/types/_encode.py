"""The wire encodings: a step's JSON bytes (``encode_step``) and a request body's
(``encode_json``, with pre-encoded ``RawJSON`` spliced in). The client sends with these and
the conversation keeps its history in them, so both live here, beside the models."""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json as _str_json

from ._base import RawJSON, WireModel

__all__ = ["encode_json", "encode_result_text", "encode_step", "encode_user_text"]


def encode_step(step: WireModel) -> bytes:
    """A step's wire JSON: the same keys as ``model_dump_json()`` (aliases, only the keys
    received or set), as bytes."""
    if type(step) is _model_output:  # a model's text answer (every text turn): spliced
        text = _model_text(step)
        if text is not None:
            return text
    # The serializer directly, without the str round trip. ``serialize_as_any`` lets each
    # nested object use its own serializer instead of re-running the open union's Python
    # discriminator on every item: same output, 3-4x faster.
    return type(step).__pydantic_serializer__.to_json(
        step, by_alias=True, exclude_unset=True, serialize_as_any=True
    )


def _model_text(step: Any) -> bytes | None:
    """``encode_step`` of a ``model_output`` step whose content is text blocks only, each
    with just its ``type`` and ``text`` (no annotations, no other or unknown keys), with
    pydantic's own string encoding and without walking the models: the same bytes
    (``tests/types/test_encode_user_text.py``), 1.8 -> 1.2 us for a 1.7 KB answer; ``None``
    for any other step. A lone surrogate raises as the serializer does."""
    content = step.content
    if (
        step.__pydantic_fields_set__ != _OUTPUT_KEYS
        or step.__pydantic_extra__
        or type(content) is not list
        or not content
    ):
        return None
    texts = []
    for block in content:
        if (
            type(block) is not _text_content
            or block.__pydantic_fields_set__ != _TEXT_KEYS
            or block.__pydantic_extra__
        ):
            return None
        texts.append(_str_json(block.text))
    return _OUTPUT_HEAD + _TEXT_JOIN.join(texts) + _OUTPUT_TAIL


_OUTPUT_KEYS = frozenset({"type", "content"})
_TEXT_KEYS = frozenset({"type", "text"})
_OUTPUT_HEAD = b'{"type":"model_output","content":[{"type":"text","text":'
_TEXT_JOIN = b'},{"type":"text","text":'
_OUTPUT_TAIL = b"}]}"


def encode_user_text(text: str) -> bytes:
    """``encode_step`` of the user text step ``input_to_steps(text)`` makes, without the
    serializer (a plain text turn, the common one). json escapes a str as pydantic does
    (``"``, ``\\``, control characters; nothing else), so the bytes are the same
    (``tests/types/test_encode_user_text.py``); a lone surrogate raises
    ``UnicodeEncodeError``."""
    return _USER_TEXT_HEAD + _string(text).encode() + _USER_TEXT_TAIL


_USER_TEXT_HEAD = b'{"type":"user_input","content":[{"type":"text","text":'
_USER_TEXT_TAIL = b"}]}"


def encode_result_text(call_id: str, name: str, text: str) -> bytes:
    """``encode_step`` of ``FunctionResultStep(call_id=call_id, name=name, result=text)``
    (a tool that returned text, the common result), without the serializer: the same bytes
    (``tests/types/test_encode_user_text.py``); a lone surrogate raises
    ``UnicodeEncodeError``."""
    return (
        f'{{"type":"function_result","call_id":{_string(call_id)},'
        f'"result":{_string(text)},"name":{_string(name)}}}'
    ).encode()


def _default(value: Any) -> Any:
    if isinstance(value, WireModel):
        return value.model_dump(mode="json")
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    raise TypeError(
        f"cannot send a {type(value).__name__} in a request body; "
        "pass JSON-compatible values (dict, list, str, number, bool, None) or pydantic models"
    )


_string = encode_basestring  # what json does with a str (ensure_ascii=False)


def _c_encoder(default: Callable[[Any], Any]) -> Callable[[Any], str]:
    """json's encoder for ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)``,
    built once: ``JSONEncoder.encode`` builds it anew on every call (~1 µs). No circular
    check (its bookkeeping is left behind when ``default`` raises): a cycle ends in
    ``RecursionError``, as walking it does."""
    if c_make_encoder is None:  # a Python without json's C accelerator
        encoder = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, default=default, check_circular=False
        )
        return encoder.encode
    make = c_make_encoder(None, default, _string, None, ":", ",", False, False, True)
    return lambda value: "".join(make(value, 0))


class _Splice(Exception):
    """A RawJSON (or a set, which json refuses) inside a container: walk it in Python."""


def _default_or_splice(value: Any) -> Any:
    if type(value) is RawJSON or isinstance(value, (set, frozenset)):
        raise _Splice
    return _default(value)


_dumps = _c_encoder(_default)
# A whole list in C (a user's tool schemas, content blocks) is ~10x faster than a walk here.
_dumps_whole = _c_encoder(_default_or_splice)


def encode_json(value: Any) -> bytes:
    """``value`` as compact JSON bytes, with every :class:`RawJSON` in it spliced verbatim.

    The bytes are ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``'s, with each
    RawJSON's data in its place (a pydantic model is encoded as its JSON dump). Dicts are
    walked here: a request body's RawJSON parts (history, pre-encoded tool schemas and configs)
    sit in it or in a list just below. A list, tuple or set with no RawJSON item goes to
    ``json`` whole, and is walked only when one turns up deeper.
    """
    kind = type(value)
    if kind is RawJSON:
        data: bytes = value.data
        return data
    if kind is str:
        return _string(value).encode()
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            kind = type(item)
            if kind is RawJSON:
                part = item.data
            elif kind is str:
                part = _string(item).encode()
            else:
                part = encode_json(item)
            parts.append(_key(key) + part)
        return b"{" + b",".join(parts) + b"}"
    if isinstance(value, (list, tuple, set, frozenset)):
        if RawJSON not in map(type, value):
            try:
                return _dumps_whole(value).encode()
            except _Splice:
                pass  # a RawJSON deeper down: walk this level
        items = [item.data if type(item) is RawJSON else encode_json(item) for item in value]
        return b"[" + b",".join(items) + b"]"
    return _dumps(value).encode()


_KEYS: dict[str, bytes] = {}  # the encodings of the keys walked (a body's few field names)


def _key(key: Any) -> bytes:
    # ``"key":``; keys that are not strings follow json's rules (1 -> "1", True -> "true").
    if type(key) is not str:
        return _dumps({key: 0})[1:-2].encode()
    encoded = _KEYS.get(key)
    if encoded is None:
        if len(_KEYS) >= 512:
            _KEYS.clear()
        encoded = _KEYS[key] = (_string(key) + ":").encode()
    return encoded


# Bound here, after the models exist (``steps`` and ``content`` do not import this module).
from .content import TextContent as _text_content  # noqa: E402
from .steps import ModelOutputStep as _model_output  # noqa: E402
