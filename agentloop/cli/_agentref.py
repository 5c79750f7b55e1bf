"""``--agent FILE.py:NAME`` (or ``module:NAME``): load an agent, a factory or a task function.

One loader for every command that takes an agent reference (``eval`` today; ``run``,
``chat`` and ``serve`` can share it). Problems are one-line ``UsageError``s naming the
reference and what is wrong.
"""

from __future__ import annotations

from typing import Any

from ._common import UsageError, a_or_an
from ._tools import _module_for

__all__ = ["load_agent_ref"]


def load_agent_ref(ref: str, *, option: str = "--agent") -> Any:
    """The object ``NAME`` of ``FILE.py:NAME`` / ``package.module:NAME`` (dotted names reach
    attributes: ``app.py:agents.support``). It must be an ``agentloop.Agent`` or callable."""
    path, sep, name = ref.rpartition(":")
    if not sep or not path or not name:
        raise UsageError(
            f"{option} {ref!r}: expected FILE.py:NAME or module:NAME, e.g. {option} "
            "agent.py:weather_agent"
        )
    module = _module_for(path, option)
    value: Any = module
    for part in name.split("."):
        if not hasattr(value, part):
            defined = sorted(
                k for k, v in vars(module).items() if not k.startswith("_") and _usable(v)
            )
            hint = f" (it defines: {', '.join(defined[:8])})" if defined else ""
            raise UsageError(f"{option} {ref!r}: {path} has no attribute {name!r}{hint}")
        value = getattr(value, part)
    if not _usable(value):
        raise UsageError(
            f"{option} {ref!r}: {name} is {a_or_an(type(value).__name__)}, not an "
            "agentloop.Agent or a function"
        )
    return value


def _usable(value: Any) -> bool:
    from agentloop.agents import Agent

    return isinstance(value, Agent) or (callable(value) and not isinstance(value, type))
