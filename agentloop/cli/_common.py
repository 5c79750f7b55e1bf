"""What every subcommand shares: the usage-error type, the backend choice, model checks.

Nothing heavy is imported at module level: the client and the emulator load only when a
command actually runs.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TextIO

if TYPE_CHECKING:
    from agentloop.client import AsyncClient, Client

__all__ = [
    "Backend",
    "BackendMode",
    "UsageError",
    "attachments",
    "check_model",
    "mcp_toolsets",
    "open_backend",
    "with_attachments",
]

BackendMode = Literal["auto", "real", "offline"]

# Model ids are lowercase words joined by '.', '-' or '_' (gemini-3.5-flash, gemma-4-31b-it),
# optionally as a resource name ("models/gemini-3.5-flash").
_MODEL_ID = re.compile(r"(models/)?[a-z0-9][a-z0-9._-]{0,127}")


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit code 2, no traceback."""


def check_model(model: str) -> str:
    """Return ``model`` if it looks like a Gemini model id, else raise ``UsageError``."""
    if not _MODEL_ID.fullmatch(model):
        raise UsageError(
            f"--model {model!r} is not a model id; pass a Gemini model name such as "
            "gemini-3.5-flash (lowercase letters, digits, '.', '-', '_')"
        )
    return model


@dataclass
class Backend:
    """The client a command talks to, and whether it is the in-process emulator."""

    client: Any  # a Client, or an AsyncClient with open_backend(asynchronous=True)
    offline: bool
    description: str

    def announce(self, stream: TextIO | None = None) -> None:
        """Say in one line where requests go."""
        print(self.description, file=stream or sys.stderr, flush=True)

    def close(self) -> None:
        from agentloop.client import Client

        if isinstance(self.client, Client):
            self.client.close()


def open_backend(mode: BackendMode = "auto", *, asynchronous: bool = False) -> Backend:
    """The real API when ``GEMINI_API_KEY`` is set (or ``mode == "real"``), else the emulator.

    ``GEMINI_BASE_URL`` is honoured by ``Client`` itself, so pointing it at
    ``agentloop emulator`` exercises the real-API path without the network.
    ``asynchronous=True`` gives an ``AsyncClient`` (what the web app uses).
    """
    key = os.environ.get("GEMINI_API_KEY", "").strip()
    if mode == "real" and not key:
        raise UsageError(
            "--real needs an API key: set GEMINI_API_KEY (or drop --real to run offline on "
            "the bundled emulator)"
        )
    if key and mode != "offline":
        from agentloop.client import AsyncClient, Client

        client: Client | AsyncClient = AsyncClient() if asynchronous else Client()
        from agentloop._defaults import redact

        where = redact(client.base_url)  # a proxy's credentials in it stay hidden
        return Backend(client, False, f"Using the Gemini Interactions API at {where}")
    from agentloop.testing import Emulator
    from agentloop.testing.server import DEFAULT_SIGNING_KEY

    # A fixed signing key: thought signatures issued by one `agentloop chat` process must
    # still verify in the next one, or resumed offline sessions could not replay history.
    emulator = Emulator(signing_key=DEFAULT_SIGNING_KEY)
    client = emulator.async_client() if asynchronous else emulator.client()
    reason = "--offline" if mode == "offline" else "no GEMINI_API_KEY set"
    return Backend(
        client,
        True,
        f"Offline: running on the bundled agentloop emulator ({reason}; its answers are "
        "canned, not a real model).",
    )


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 tool call``, ``2 tool calls`` (``many`` for irregular plurals)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def a_or_an(word: str) -> str:
    """``a function``, ``an int``."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def model_of(args: Any) -> str:
    """The ``--model`` (or config) value, checked; the default model when neither is set."""
    from agentloop._defaults import DEFAULT_MODEL

    return check_model(getattr(args, "model", None) or DEFAULT_MODEL)


def _named(args: Any, key: str) -> str:
    """How an error names an option: ``--flag``, or ``key`` in the config file it came from."""
    if key in getattr(args, "from_config", ()):
        from ._config import config_path

        return f"{key} (in {config_path()})"
    return "--" + key.replace("_", "-")


def generation_config(args: Any) -> dict[str, Any] | None:
    """``generation_config`` from ``--temperature``, ``--thinking-level`` and ``-o key=value``."""
    import json

    config: dict[str, Any] = {}
    temperature = getattr(args, "temperature", None)
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise UsageError(f"{_named(args, 'temperature')} is a number, not {temperature!r}")
        if not 0.0 <= float(temperature) <= 2.0:
            raise UsageError(
                f"{_named(args, 'temperature')} must be between 0 and 2, got {temperature}"
            )
        config["temperature"] = float(temperature)
    level = getattr(args, "thinking_level", None)
    if level is not None:
        from . import THINKING_LEVELS

        if level not in THINKING_LEVELS:
            raise UsageError(
                f"{_named(args, 'thinking_level')} is one of {', '.join(THINKING_LEVELS)}, "
                f"not {level!r}"
            )
        config["thinking_level"] = level
    for option in getattr(args, "option", None) or []:
        key, eq, raw = option.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or not key.isidentifier():
            raise UsageError(f"-o {option!r}: expected KEY=VALUE, e.g. -o max_output_tokens=200")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        config[key] = value
    if not config:
        return None
    from agentloop.types import GenerationConfig

    known = set(GenerationConfig.model_fields)
    unknown = sorted(set(config) - known)
    if unknown:
        raise UsageError(
            f"-o {unknown[0]}: not a generation_config field; known: {', '.join(sorted(known))}"
        )
    return config


def mcp_toolsets(commands: list[str] | None, urls: list[str] | None) -> list[Any]:
    """An ``MCPToolset`` per ``--mcp "COMMAND ARGS"`` and ``--mcp-url URL`` (not started yet)."""
    if not commands and not urls:
        return []
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise UsageError("--mcp needs the MCP SDK: pip install 'agentloop[mcp]'") from None
    import shlex

    from agentloop.mcp import MCPToolset

    toolsets: list[Any] = []
    for command in commands or []:
        try:
            parts = shlex.split(command)
        except ValueError as exc:
            raise UsageError(f"--mcp {command!r} cannot be split into words: {exc}") from None
        if not parts:
            raise UsageError(
                "--mcp needs a command, e.g. --mcp 'npx -y @modelcontextprotocol/server-memory'"
            )
        toolsets.append(MCPToolset.stdio(parts[0], parts[1:]))
    for url in urls or []:
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"--mcp-url {url!r} is not an http:// or https:// URL")
        toolsets.append(MCPToolset.http(url))
    return toolsets


def attachments(paths: list[str] | None) -> list[Any]:
    """Content blocks for ``-a FILE`` / ``/attach FILE``; a bad file is a one-line error."""
    from pathlib import Path

    from agentloop.errors import InputError
    from agentloop.loop.inputs import from_file

    blocks = []
    for path in paths or []:
        if Path(path).is_dir():
            raise UsageError(f"cannot attach {path!r}: it is a folder; attach files one by one")
        try:
            block = from_file(path)
        except InputError:
            raise UsageError(
                f"cannot attach {path!r}: its type cannot be told from its name; give it an "
                "extension (.png, .jpg, .pdf, .mp3, .mp4, ...)"
            ) from None
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot attach {path!r}: {exc}") from None
        if block.mime_type not in _attachable():
            raise UsageError(
                f"cannot attach {path!r}: the API takes no {block.mime_type} files; attach "
                "images, audio, video, PDF, CSV or Office documents (put text in the message)"
            )
        blocks.append(block)
    return blocks


@functools.cache
def _attachable() -> frozenset[str]:
    """The media types the API takes in input blocks (the spec's lists, section 4.3)."""
    from typing import get_args

    from agentloop.types import values

    kinds = (values.ImageMimeType, values.AudioMimeType, values.VideoMimeType)
    found = {
        value
        for kind in (*kinds, values.DocumentMimeType)
        for member in get_args(kind)
        for value in get_args(member)
    }
    return frozenset(found)


def with_attachments(text: str, blocks: list[Any]) -> Any:
    """What to send: the text alone, or the text followed by the attached files."""
    if not blocks:
        return text
    from agentloop.loop.inputs import text as text_block

    return [text_block(text), *blocks]
