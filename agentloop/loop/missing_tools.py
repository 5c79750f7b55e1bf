"""A saved conversation loaded without some of its tools says so, once, with their names.

Tools are code, so a saved conversation keeps only their names; a load that is not given
them again would otherwise drop them without a word (the model's calls to them then fail).
"""

from __future__ import annotations

from typing import Any

__all__ = ["warn_missing_tools"]


def warn_missing_tools(conv_id: str | None, saved: Any, given: list[str]) -> None:
    """One ``MissingToolsWarning`` naming the saved tools a load was not given."""
    missing = [name for name in saved or [] if isinstance(name, str) and name not in given]
    if not missing:
        return
    import warnings

    from agentloop.errors import MissingToolsWarning

    who = f"conversation {conv_id!r}" if conv_id else "the conversation"
    warnings.warn(
        f"{who} was saved with tools that were not given: {', '.join(missing)}; pass them "
        "with tools=[...] (agentloop CLI: --tools FILE) or the model's calls to them fail",
        MissingToolsWarning,
        stacklevel=_caller_outside_agentloop(),
    )


def _caller_outside_agentloop() -> int:
    """The ``stacklevel`` of the first caller outside the agentloop package (a load goes
    through several of its functions: the warning names the user's line)."""
    import os
    import sys

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    level = 1
    frame: Any = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level
