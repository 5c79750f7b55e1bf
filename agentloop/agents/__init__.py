"""Agents: reusable definitions that build conversations.

An ``Agent`` is a frozen definition (instructions, model, tools, structured output, limits,
hooks, handoffs); conversation state lives in the ``Conversation`` it builds. One agent serves
any number of conversations at once. ``agent.as_tool()`` makes it a sub-agent tool of another
agent; ``ManagedAgent`` makes a managed agent of the API a tool.
"""

from __future__ import annotations

from ._agent import Agent, RunContext
from ._managed import ManagedAgent
from ._subagent import AgentTool

__all__ = ["Agent", "AgentTool", "ManagedAgent", "RunContext"]
