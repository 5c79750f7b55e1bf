"""``--tools FILE_OR_MODULE``: load the functions a command may let the model call.

A Python file or an importable module contributes its ``@tool``-decorated functions; when it
has none, every public function defined in it (like ``llm --functions``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._common import UsageError

if TYPE_CHECKING:
    from agentloop.tools import Tool

__all__ = ["load_agent", "load_tools"]


def _import_file(path: Path, option: str = "--tools") -> ModuleType:
    # The file's own stem reads best in messages; fall back to a private name on a clash.
    name = path.stem
    if not name.isidentifier() or name in sys.modules:
        name = f"agentloop_cli_tools_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{option} {str(path)!r}: not a Python file (expected a .py file)")
    module = importlib.util.module_from_spec(spec)
    # Registered so dataclasses/pydantic models defined in the file can resolve their module.
    sys.modules[name] = module
    # The file's own folder comes first so it can import its siblings.
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise UsageError(
            f"{option} {str(path)!r} does not import: SyntaxError: {exc.msg} (line {exc.lineno})"
        ) from None
    except BaseException as exc:  # the file may raise anything, even SystemExit
        sys.modules.pop(name, None)
        raise UsageError(
            f"{option} {str(path)!r} does not import: {type(exc).__name__}: {exc}"
        ) from None
    return module


def _import_module(name: str, option: str = "--tools") -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise UsageError(
                f"{option} {name!r} is neither a file nor an importable module; pass a path to "
                "a .py file or a module name on sys.path"
            ) from None
        raise UsageError(f"{option} {name!r} does not import: {exc}") from None
    except BaseException as exc:
        raise UsageError(
            f"{option} {name!r} does not import: {type(exc).__name__}: {exc}"
        ) from None


def _module_for(spec: str, option: str = "--tools") -> ModuleType:
    path = Path(spec)
    if spec.endswith(".py") or path.is_file():
        if not path.is_file():
            raise UsageError(f"{option} {spec!r}: no such file")
        return _import_file(path, option)
    return _import_module(spec, option)


def tools_of(module: ModuleType) -> list[Any]:
    """The ``Tool`` objects of ``module``, else its public functions defined there."""
    from agentloop.tools import Tool

    found = [v for k, v in vars(module).items() if isinstance(v, Tool) and not k.startswith("_")]
    if found:
        return found
    return [
        v
        for k, v in vars(module).items()
        if not k.startswith("_")
        and inspect.isfunction(v)
        and getattr(v, "__module__", None) == module.__name__
    ]


def saved_tool_specs(specs: list[str] | None) -> list[str]:
    """``--tools`` values as a session keeps them: files by their absolute path."""
    return [str(Path(s).resolve()) if Path(s).is_file() else s for s in specs or []]


def tools_option(args: Any, session: str | None = None) -> str:
    """How errors name where the tools came from: ``--tools``, the config file, or (``session``)
    the tools a resumed session was started with."""
    if session is not None:
        return f"the tools of session {session!r}"
    if "tools" in getattr(args, "from_config", ()):
        from ._config import config_path

        return f"tools (in {config_path()})"
    return "--tools"


def load_tools(specs: list[str] | None, option: str = "--tools") -> list[Tool[..., Any]]:
    """Load and declare the tools of every ``--tools`` value; ``UsageError`` on any problem
    (``option`` names where the values came from)."""
    from agentloop.tools import ToolDefinitionError, ToolRegistry

    registry = ToolRegistry()
    for spec in specs or []:
        module = _module_for(spec, option)
        candidates = tools_of(module)
        if not candidates:
            raise UsageError(
                f"{option} {spec!r} defines no @tool functions and no public functions"
            )
        for item in candidates:
            try:
                registry.add(item)
            except ToolDefinitionError as exc:
                raise UsageError(f"{option} {spec!r}: a tool cannot be declared: {exc}") from None
            except Exception as exc:  # e.g. an annotation pydantic cannot build a schema for
                name = getattr(item, "__name__", repr(item))
                raise UsageError(
                    f"{option} {spec!r}: {name} cannot be declared as a tool: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
    return list(registry)


def load_agent(spec: str | None) -> Any:
    """``--agent FILE.py:NAME`` (or ``module:NAME``): the ``agentloop.Agent`` called NAME."""
    if spec is None:
        return None
    from agentloop import Agent

    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise UsageError(
            f"--agent {spec!r}: give the file (or module) and the agent's variable name, e.g. "
            "--agent team.py:triage"
        )
    try:
        module = _module_for(where)
    except UsageError as exc:
        raise UsageError(str(exc).replace("--tools", "--agent", 1)) from None
    found = getattr(module, name, None)
    if not isinstance(found, Agent):
        agents = sorted(k for k, v in vars(module).items() if isinstance(v, Agent))
        known = ", ".join(agents) if agents else "none"
        what = "no such name" if found is None else f"a {type(found).__name__}, not an Agent"
        raise UsageError(f"--agent {spec!r}: {name} is {what} (agents there: {known})")
    try:
        found._graph()  # check the handoff graph now: a one-line error, not a traceback later
    except Exception as exc:
        raise UsageError(f"--agent {spec!r}: {exc}") from None
    return found


def agent_settings(agent: Any, args: Any) -> dict[str, Any]:
    """The settings a command's new conversation gets from ``agent`` (its tools included),
    where no option says otherwise."""
    if agent is None:
        return {}
    if getattr(args, "tools", None) or getattr(args, "system", None):
        raise UsageError(
            "--agent brings its own tools and instructions: drop --tools/--system (or change "
            "the agent)"
        )
    settings = agent._conversation_kwargs()
    if getattr(args, "model", None):
        settings["model"] = args.model  # an explicit --model wins over the agent's
    return {k: v for k, v in settings.items() if v is not None}
