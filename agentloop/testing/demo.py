"""A deterministic stand-in for Gemini: enough behaviour to exercise an agent framework offline.

It always begins with a thought (signed by the emulator), says plainly that it is the
agentloop emulator, acts like a small agent with declared function tools (the rules of
``_planner``: tool choice by meaning, typed arguments, arithmetic, chaining, asking for a
missing argument, answering from results), honours JSON ``response_format`` schemas, and
produces built-in tool steps and images on request. A rule-based stand-in, not a language
model.
"""

from __future__ import annotations

import ast
import base64
import json
import math
import operator
import re
import struct
import zlib
from typing import Any

from agentloop.types import TextResponseFormat

from ._planner import ASK, Plan, next_calls, pick, plan_turn
from ._schema import Hints, generate
from .models import ModelRequest, Reply, text_of_user_input

__all__ = ["PNG_1X1", "DemoModel"]

PREFIX = "(agentloop emulator)"


def _tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x42\x85\xf4" * 2 for _ in range(2))  # 2x2 blue pixels
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PNG_1X1 = base64.b64encode(_tiny_png()).decode()


def _silence(seconds: float = 0.25, rate: int = 24000) -> bytes:
    """Raw 16-bit mono PCM silence (``audio/l16``)."""
    return b"\x00\x00" * int(seconds * rate)


def _wav(pcm: bytes, rate: int = 24000) -> bytes:
    """``pcm`` (16-bit mono) in a WAV container."""
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16,
        b"data", len(pcm),
    )  # fmt: skip
    return header + pcm


_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a": 1,
    "an": 1,
}
_LEGS = {
    "dog": 4,
    "cat": 4,
    "horse": 4,
    "cow": 4,
    "puppy": 4,
    "puppie": 4,
    "kitten": 4,
    "rabbit": 4,
    "hamster": 4,
    "sheep": 4,
    "goat": 4,
    "pig": 4,
    "mouse": 4,
    "mice": 4,
    "bird": 2,
    "chicken": 2,
    "duck": 2,
    "parrot": 2,
    "person": 2,
    "people": 2,
    "kid": 2,
    "child": 2,
    "children": 2,
    "spider": 8,
}
_BINOPS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


_MAX_EXPR_CHARS = 200  # longer "expressions" are not arithmetic worth evaluating
_MAX_DEPTH = 20  # nesting of operations and parentheses
_MAX_BITS = 4096  # integers beyond ~1200 digits are refused, so no step is slow


def _bounded(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > _MAX_BITS:
        raise ValueError("number too large")
    return value


def _arith(expr: str) -> float | int | None:
    """Evaluate a small arithmetic expression without ``eval``, bounded in size and time.

    At most 200 characters and 20 levels of nesting; integers stay under 4096 bits (a power
    is refused before it is computed if its result would not), floats must stay finite.
    Anything else is "not arithmetic" (``None``).
    """
    if len(expr) > _MAX_EXPR_CHARS:
        return None

    def ev(node: ast.AST, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError("nested too deeply")
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return _bounded(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left = ev(node.left, depth + 1)
            right = ev(node.right, depth + 1)
            if isinstance(node.op, ast.Pow):
                if abs(right) > 64:
                    raise ValueError("exponent too large")
                if isinstance(left, int) and abs(left).bit_length() * abs(right) > _MAX_BITS:
                    raise ValueError("power too large")
            return _bounded(_BINOPS[type(node.op)](left, right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand, depth + 1)
        raise ValueError("not arithmetic")

    try:
        value = ev(ast.parse(expr, mode="eval").body, 0)
    except (
        SyntaxError,
        ValueError,
        ZeroDivisionError,
        TypeError,
        OverflowError,
        RecursionError,
        MemoryError,
    ):
        return None
    if isinstance(value, complex) or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value  # type: ignore[no-any-return]


def _singular(noun: str) -> str:
    noun = noun.lower()
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    return noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun


def _text(text: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if annotations:
        block["annotations"] = annotations
    return block


def _output(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "model_output", "content": list(blocks)}


def _result_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, list):
        parts = []
        for block in result:
            if getattr(block, "type", None) == "text":
                parts.append(block.text)
            else:
                parts.append(f"[{getattr(block, 'type', 'content')}]")
        return " ".join(parts)
    return json.dumps(result, ensure_ascii=False, sort_keys=True)


class DemoModel:
    """The default model of the emulator: a rule-based stand-in, not a language model.

    Deterministic (same history, same reply). With function tools it behaves like a small
    agent: it picks tools by meaning (names, descriptions, parameter names and types), fills
    typed arguments from the request, computes arithmetic with ``add``/``multiply``-style
    tools or a calculator, chains a result into another tool's parameter, asks for a missing
    argument instead of inventing it, and answers from the results. The rules are listed in
    the docs (Testing with the emulator, "The demo model").
    """

    def __call__(self, request: ModelRequest, /) -> Reply:
        history = request.history
        thought = self._thought(request)
        last = history[-1] if history else None
        turn = self._current_turn(history)
        user_text = request.last_user_text

        if request.agent is not None:
            return Reply(steps=[thought, *self._agent(request, user_text)])
        if getattr(last, "type", None) == "function_result":
            plan = self._plan(request, user_text)
            results = [s for s in turn if getattr(s, "type", None) == "function_result"]
            if plan is not None and not any(s.is_error for s in results):
                more = next_calls(plan, [s.result for s in results])
                if more:
                    return Reply(steps=[thought, *self._calls(more)])
            return Reply(steps=[thought, self._answer_results(request, turn, plan)])
        if self._wants_image(request):
            caption = f"{PREFIX} Here is a placeholder image for: {user_text}"
            image = {"type": "image", "data": PNG_1X1, "mime_type": "image/png"}
            return Reply(steps=[thought, _output(_text(caption), image)])
        audio = self._audio(request)
        if audio is not None:  # speech models and audio output: a moment of silence
            return Reply(steps=[thought, _output(audio)])
        plan = self._plan(request, user_text)
        if plan is not None and plan.ask is not None and not self._json_schema(request):
            return Reply(steps=[thought, self._question(plan.ask)])
        first = next_calls(plan, []) if plan is not None else None
        if first:
            return Reply(steps=[thought, *self._calls(first)])
        if any(getattr(t, "type", None) == "computer_use" for t in request.tools):
            # Computer use acts through the client: the model calls a predefined UI action
            # (the client runs it and answers with a function_result and a screenshot).
            action = {"type": "function_call", "name": "open_web_browser", "arguments": {}}
            return Reply(steps=[thought, action])
        steps: list[dict[str, Any]] = [thought]
        builtin = self._builtin_tools(request, user_text)
        steps.extend(builtin)
        if builtin and builtin[-1]["type"] == "model_output":
            return Reply(steps=steps)
        steps.append(_output(_text(self._final_text(request, user_text, ""))))
        return Reply(steps=steps)

    # --- pieces ---------------------------------------------------------------------------

    def _thought(self, request: ModelRequest) -> dict[str, Any]:
        thought: dict[str, Any] = {"type": "thought"}
        config = request.generation_config
        if config is not None and config.thinking_summaries == "auto":
            thought["summary"] = [_text(f"{PREFIX} Thinking about: {request.last_user_text[:80]}")]
        return thought

    @staticmethod
    def _current_turn(history: list[Any]) -> list[Any]:
        for i in range(len(history) - 1, -1, -1):
            if getattr(history[i], "type", None) == "user_input":
                return history[i + 1 :]
        return list(history)

    @staticmethod
    def _json_schema(request: ModelRequest) -> dict[str, Any] | None:
        formats = request.response_format
        items = formats if isinstance(formats, list) else [formats] if formats else []
        for fmt in items:
            if isinstance(fmt, TextResponseFormat) and (
                fmt.mime_type == "application/json" or fmt.schema_ is not None
            ):
                return fmt.schema_ or {"type": "object", "properties": {"answer": {}}}
        if request.body.get("response_mime_type") == "application/json":
            return {"type": "object", "properties": {"answer": {"type": "string"}}}
        return None

    @staticmethod
    def _audio(request: ModelRequest) -> dict[str, Any] | None:
        """The audio block to answer with (a speech model, an ``audio`` response format or
        modality), or None: silence, raw PCM when ``audio/l16`` is asked for, else WAV."""
        formats = request.response_format
        items = formats if isinstance(formats, list) else [formats] if formats else []
        asked = [f for f in items if getattr(f, "type", None) == "audio"]
        speech = bool(request.model and "tts" in request.model.lower())
        if not (asked or speech or "audio" in (request.body.get("response_modalities") or [])):
            return None
        mime = getattr(asked[0], "mime_type", None) if asked else None
        pcm = _silence()
        if mime == "audio/l16":
            data, mime = pcm, "audio/l16"
        else:
            data, mime = _wav(pcm), "audio/wav"
        return {"type": "audio", "data": base64.b64encode(data).decode(), "mime_type": mime}

    @staticmethod
    def _wants_image(request: ModelRequest) -> bool:
        if request.model and "image" in request.model.lower():
            return True
        formats = request.response_format
        items = formats if isinstance(formats, list) else [formats] if formats else []
        if any(getattr(f, "type", None) == "image" for f in items):
            return True
        return "image" in (request.body.get("response_modalities") or [])

    def _final_text(self, request: ModelRequest, user_text: str, extra: str) -> str:
        schema = self._json_schema(request)
        if schema is not None:
            value = generate(schema, Hints.from_text(user_text + " " + extra))
            return json.dumps(value, indent=2, ensure_ascii=False)
        if extra:
            return f"{PREFIX} {extra}"
        return f"{PREFIX} {self._chat(request, user_text)}"

    def _chat(self, request: ModelRequest, user_text: str) -> str:
        intro = ""
        si = request.system_instruction or ""
        m = re.search(r"your name is (\w+)", si, re.I)
        if m:
            intro = f"I am {m.group(1)}, as my instructions say. "
        elif si:
            intro = f"Following my instructions ({si[:60]}), "
        recalled = ""
        lowered = user_text.lower()
        if "how many" in lowered or "my name" in lowered:
            # Only a question about earlier facts reads the whole history.
            earlier = [
                text_of_user_input(s)
                for s in request.history[:-1]
                if getattr(s, "type", None) == "user_input"
            ]
            recalled = self._recall(user_text, earlier)
        if recalled:
            return intro + recalled
        text = user_text.strip() or "(nothing)"
        return (
            f"{intro}You said: {text}{self._attached(request)} I am a local emulator of the "
            "Gemini Interactions API, not a real model, so this reply is canned."
        )

    @staticmethod
    def _attached(request: ModelRequest) -> str:
        """`` (with 1 image/png file attached)`` when the last message carried files."""
        for step in reversed(request.history):
            if getattr(step, "type", None) == "user_input":
                content = step.content if isinstance(step.content, list) else []
                kinds = [
                    str(getattr(b, "mime_type", None) or getattr(b, "type", None) or "file")
                    for b in content
                    if getattr(b, "type", None) != "text"
                ]
                if not kinds:
                    return ""
                many = "file" if len(kinds) == 1 else "files"
                return f" (with {len(kinds)} {', '.join(kinds)} {many} attached)"
        return ""

    @staticmethod
    def _recall(question: str, earlier: list[str]) -> str:
        """Answer simple questions from facts the user stated earlier."""
        q = question.lower()
        m = re.search(r"how many (\w+)", q)
        facts: list[tuple[int, str]] = []
        for text in earlier:
            for count, noun in re.findall(
                r"\b(\d+|one|two|three|four|five|six|seven|eight|"
                r"nine|ten)\s+([a-z]+)",
                text.lower(),
            ):
                n = int(count) if count.isdigit() else _NUMBER_WORDS[count]
                facts.append((n, _singular(noun)))
        if m and facts:
            target = _singular(m.group(1))
            if target in ("paw", "leg", "foot", "feet"):
                parts = [(n, noun, _LEGS[noun]) for n, noun in facts if noun in _LEGS]
                if parts:
                    total = sum(n * legs for n, _, legs in parts)
                    unit = m.group(1)
                    detail = " + ".join(f"{n} {noun}s \u00d7 {legs}" for n, noun, legs in parts)
                    return f"There are {total} {unit}: {detail} = {total} {unit}."
            for n, noun in facts:
                if noun == target:
                    return f"You told me about {n} {m.group(1)}."
        if "my name" in q:
            for text in reversed(earlier):
                nm = re.search(r"my name is (\w+)", text, re.I)
                if nm:
                    return f"Your name is {nm.group(1)}."
        return ""

    # --- function tools --------------------------------------------------------------------

    def _plan(self, request: ModelRequest, user_text: str) -> Plan | None:
        """The turn's plan (see ``_planner``), or None when no function tool may be called."""
        tools = [t for t in request.function_tools if t.name]
        mode: Any = None
        config = request.generation_config
        choice = config.tool_choice if config is not None else None
        if isinstance(choice, str):
            mode = choice
        elif choice is not None and choice.allowed_tools is not None:
            mode = choice.allowed_tools.mode
            allowed = set(choice.allowed_tools.tools or [])
            if allowed:
                tools = [t for t in tools if t.name in allowed]
        if mode == "none" or not tools:
            return None
        return plan_turn(
            tools,
            user_text,
            forced=mode in ("any", "validated"),
            asked=self._asked(request.history),
        )

    @staticmethod
    def _asked(history: list[Any]) -> tuple[str, str] | None:
        """(tool, parameter) when our last reply before this message asked for an argument."""
        seen_user = False
        for step in reversed(history):
            kind = getattr(step, "type", None)
            if kind == "user_input":
                if seen_user:
                    return None
                seen_user = True
            elif kind == "model_output" and seen_user:
                text = " ".join(getattr(b, "text", "") or "" for b in step.content or [])
                m = ASK.search(text)
                return (m.group(1), m.group(2)) if m else None
            elif seen_user and kind == "function_call":
                return None
        return None

    @staticmethod
    def _calls(calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        return [{"type": "function_call", "name": n, "arguments": a} for n, a in calls]

    @staticmethod
    def _question(ask: tuple[str, str, str]) -> dict[str, Any]:
        tool, param, description = ask
        what = f" ({description.rstrip('.')})" if description else ""
        label = param.replace("_", " ")
        return _output(
            _text(f"{PREFIX} To use {tool}, I need the {param}{what}: which {label} should I use?")
        )

    def _answer_results(
        self, request: ModelRequest, turn: list[Any], plan: Plan | None
    ) -> dict[str, Any]:
        names = {s.id: s.name for s in turn if getattr(s, "type", None) == "function_call"}
        parts = []
        for step in turn:
            if getattr(step, "type", None) != "function_result":
                continue
            name = step.name or names.get(step.call_id, "the tool")
            outcome = "failed with" if step.is_error else "returned"
            parts.append(f"{name} {outcome} {_result_text(step.result)}")
        summary = "Here is what the tools said: " + "; ".join(parts) + "."
        results = [s for s in turn if getattr(s, "type", None) == "function_result"]
        if plan is not None and plan.expression and results and not results[-1].is_error:
            value = pick(results[-1].result, "")
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            summary += f" So {plan.expression} = {value}."
        return _output(_text(self._final_text(request, request.last_user_text, summary)))

    # --- built-in tools and agents ------------------------------------------------------------

    def _builtin_tools(self, request: ModelRequest, user_text: str) -> list[dict[str, Any]]:
        kinds = {getattr(t, "type", None) for t in request.tools}
        steps: list[dict[str, Any]] = []
        notes: list[str] = []
        if "code_execution" in kinds:
            # Only the start of the message is searched: the pattern backtracks on long text.
            expr = re.search(r"[\d(][\d\s+\-*/%().^]*[\d)]", user_text[: _MAX_EXPR_CHARS * 2])
            value = _arith(expr.group(0).replace("^", "**")) if expr else None
            code = (
                f"print({expr.group(0).replace('^', '**')})"
                if value is not None and expr
                else f"print({json.dumps(user_text[:60])})"
            )
            output = f"{value}\n" if value is not None else f"{user_text[:60]}\n"
            steps += [
                {
                    "type": "code_execution_call",
                    "id": "",
                    "arguments": {"language": "python", "code": code},
                },
                {"type": "code_execution_result", "call_id": "", "result": output},
            ]
            notes.append(f"The code printed {output.strip()}.")
        if "url_context" in kinds:
            urls = Hints.from_text(user_text).urls or ["https://example.com/"]
            steps += [
                {"type": "url_context_call", "id": "", "arguments": {"urls": urls}},
                {
                    "type": "url_context_result",
                    "call_id": "",
                    "result": [{"url": u, "status": "success"} for u in urls],
                },
            ]
            notes.append(f"I read {', '.join(urls)} (emulated, no network).")
        query = user_text.strip().rstrip("?") or "example"
        steps += self._grounding_steps(request, query, notes)
        if "google_search" in kinds:
            steps += [
                {"type": "google_search_call", "id": "", "arguments": {"queries": [query]}},
                {
                    "type": "google_search_result",
                    "call_id": "",
                    "result": [{"search_suggestions": "<!-- agentloop emulator search widget -->"}],
                },
            ]
            sentence = (
                f"{PREFIX} Search results for \u201c{query}\u201d are emulated offline; "
                "see example.com for details."
            )
            if notes:
                sentence += " " + " ".join(notes)
            cite = {
                "type": "url_citation",
                "url": "https://example.com/search?q=" + "+".join(query.split()),
                "title": "example.com",
                "start_index": 0,
                "end_index": len(sentence.encode()),
            }
            steps.append(_output(_text(sentence, [cite])))
            return steps
        if notes:
            steps.append(_output(_text(self._final_text(request, user_text, " ".join(notes)))))
        return steps

    @staticmethod
    def _grounding_steps(
        request: ModelRequest, query: str, notes: list[str]
    ) -> list[dict[str, Any]]:
        """Call and result steps of file search, Maps, retrieval and MCP servers (emulated)."""
        steps: list[dict[str, Any]] = []
        for tool in request.tools:
            kind = getattr(tool, "type", None)
            if kind == "file_search":
                stores = list(getattr(tool, "file_search_store_names", None) or ["(default)"])
                steps += [
                    {"type": "file_search_call", "id": ""},
                    {"type": "file_search_result", "call_id": ""},
                ]
                notes.append(f"I searched the file stores {', '.join(stores)} (emulated).")
            elif kind == "google_maps":
                place = {
                    "place_id": "places/emulated-" + "-".join(query.lower().split()[:3]),
                    "name": f"Emulated place for {query}",
                    "url": "https://maps.example.com/?q=" + "+".join(query.split()),
                }
                steps += [
                    {"type": "google_maps_call", "id": "", "arguments": {"queries": [query]}},
                    {"type": "google_maps_result", "call_id": "", "result": [{"places": [place]}]},
                ]
                notes.append(f"Maps found {place['name']} (emulated).")
            elif kind == "retrieval":
                kinds = list(getattr(tool, "retrieval_types", None) or ["vertex_ai_search"])
                steps += [
                    {
                        "type": "retrieval_call",
                        "id": "",
                        "arguments": {"queries": [query]},
                        "retrieval_type": kinds[0],
                    },
                    {"type": "retrieval_result", "call_id": ""},
                ]
                notes.append(f"I retrieved documents with {kinds[0]} (emulated).")
            elif kind == "mcp_server":
                server = getattr(tool, "name", None) or "mcp"
                allowed = [
                    n for a in getattr(tool, "allowed_tools", None) or [] for n in a.tools or []
                ]
                name = allowed[0] if allowed else "search"
                result = f"{name} on {server} answered for {query!r} (emulated)"
                steps += [
                    {
                        "type": "mcp_server_tool_call",
                        "id": "",
                        "name": name,
                        "server_name": server,
                        "arguments": {"query": query},
                    },
                    {
                        "type": "mcp_server_tool_result",
                        "call_id": "",
                        "name": name,
                        "server_name": server,
                        "result": result,
                    },
                ]
                notes.append(f"The MCP server {server} ran {name}.")
        return steps

    def _agent(self, request: ModelRequest, user_text: str) -> list[dict[str, Any]]:
        env = request.environment or "none"
        code = f"# task: {user_text[:60]}\nprint('done')"
        return [
            {
                "type": "code_execution_call",
                "id": "",
                "arguments": {"language": "python", "code": code},
            },
            {"type": "code_execution_result", "call_id": "", "result": "done\n"},
            _output(
                _text(
                    f"{PREFIX} Agent {request.agent} worked on the task in environment {env}: "
                    f"{user_text.strip()} It ran one emulated code step; nothing real was executed."
                )
            ),
        ]
