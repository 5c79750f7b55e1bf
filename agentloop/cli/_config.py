"""The user's config file: defaults for ``--model``, ``--system``, ``--tools``, ``--store``...

Found at ``$AGENTLOOP_CONFIG``, else ``$XDG_CONFIG_HOME/agentloop/config.toml``, else
``~/.config/agentloop/config.toml`` (``%APPDATA%\\agentloop\\config.toml`` on Windows). TOML is
read with ``tomllib`` (Python 3.11+); on Python 3.10 ``tomli`` is used when installed, and
otherwise the file is ignored with a one-line note (agentloop adds no dependency for it).
Command-line options always win over the file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ._common import UsageError

__all__ = ["KEYS", "config_path", "load_config"]

# key -> (type, what it sets)
KEYS: dict[str, tuple[type, str]] = {
    "model": (str, "--model"),
    "system": (str, "--system"),
    "tools": (list, "--tools (a list of files or modules)"),
    "store": (str, "--store"),
    "strategy": (str, "--strategy"),
    "temperature": (float, "--temperature"),
    "thinking_level": (str, "--thinking-level"),
}


def config_path() -> Path:
    """Where the config file is looked for (it need not exist)."""
    explicit = os.environ.get("AGENTLOOP_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "agentloop" / "config.toml"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "agentloop" / "config.toml"


def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - Python 3.10 only
        import tomli  # type: ignore[import-not-found, unused-ignore]

        return tomli
    except ImportError:  # pragma: no cover - Python 3.10 only
        return None


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The settings of the config file (``{}`` when there is none); ``UsageError`` if invalid."""
    path = path or config_path()
    if not path.is_file():
        if os.environ.get("AGENTLOOP_CONFIG"):  # named on purpose: a typo must not pass
            raise UsageError(
                f"AGENTLOOP_CONFIG names {str(path)!r}, which is not a file; fix the path or "
                "unset it"
            )
        return {}
    toml = _toml()
    if toml is None:  # pragma: no cover - Python 3.10 without tomli
        print(
            f"agentloop: note: {path} ignored (reading TOML needs Python 3.11+ or tomli)",
            file=sys.stderr,
        )
        return {}
    try:
        data = toml.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"config file {str(path)!r} cannot be read: {exc}") from None
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in KEYS:
            raise UsageError(
                f"config file {str(path)!r}: unknown key {key!r}; known keys: {', '.join(KEYS)}"
            )
        kind, _ = KEYS[key]
        if kind is list and isinstance(value, str):
            value = [value]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        strings = kind is not list or all(isinstance(v, str) for v in value)
        if not isinstance(value, kind) or not strings:
            raise UsageError(
                f"config file {str(path)!r}: {key} must be a {kind.__name__}"
                + (" of strings" if kind is list else "")
                + f", got {value!r}"
            )
        if key == "tools":  # relative paths are relative to the config file
            assert isinstance(value, list)
            value = [
                str((path.parent / v).resolve())
                if v.endswith(".py") and not Path(v).is_absolute()
                else v
                for v in value
            ]
        out[key] = value
    return out
