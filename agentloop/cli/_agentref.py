"""``--agent file.py:NAME`` (or ``module:NAME``): load an ``agentloop.Agent`` a command runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._common import UsageError
from ._tools import _module_for

if TYPE_CHECKING:
    from agentloop.agents import Agent

__all__ = ["load_agent_ref"]


def load_agent_ref(ref: str) -> Agent:
    """The ``Agent`` named by ``file.py:NAME`` or ``package.module:NAME``; ``UsageError`` (one
    line saying what to fix) when the file, the module or the name is wrong."""
    from agentloop.agents import Agent

    source, sep, name = ref.rpartition(":")
    if not sep or not source or not name.isidentifier():
        raise UsageError(
            f"--agent {ref!r}: say which agent, as file.py:NAME or module:NAME "
            "(NAME is the variable holding the Agent)"
        )
    module = _module_for(source)
    if not hasattr(module, name):
        agents = sorted(k for k, v in vars(module).items() if isinstance(v, Agent))
        hint = f"; it defines {', '.join(agents)}" if agents else "; it defines no Agent"
        raise UsageError(f"--agent {ref!r}: {source} has no {name!r}{hint}")
    agent = getattr(module, name)
    if not isinstance(agent, Agent):
        raise UsageError(
            f"--agent {ref!r}: {name} is a {type(agent).__name__}, not an agentloop.Agent"
        )
    return agent
