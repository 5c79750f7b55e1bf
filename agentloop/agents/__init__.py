"""Agents: reusable definitions that build conversations.

An ``Agent`` is a frozen definition (instructions, model, tools, structured output, limits,
hooks); conversation state lives in the ``Conversation`` it builds. One agent serves any number
of conversations at once.
"""

from __future__ import annotations

from ._agent import Agent, RunContext

__all__ = ["Agent", "RunContext"]
