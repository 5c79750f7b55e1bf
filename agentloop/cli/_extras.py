"""Which ``pip install`` a command needs when an optional package is missing, in one line.

Every optional package of agentloop sits behind an extra; a command that reaches one that is
not installed says which extra to install instead of printing a traceback.
"""

from __future__ import annotations

__all__ = ["EXTRA_OF", "extra_message"]

# top-level module -> the extra that installs it
EXTRA_OF: dict[str, str] = {
    "dbos": "durable",
    "psycopg": "postgres",
    "psycopg_pool": "postgres",
    "opentelemetry": "otel",
    "mcp": "mcp",
    "uvicorn": "web",
    "starlette": "web",
    "ag_ui": "web",
    "rich": "cli",
    "prompt_toolkit": "cli",
}


def extra_message(command: str, exc: ImportError) -> str | None:
    """``agentloop worker needs the [durable] extra (dbos is missing): pip install ...``.

    None when the missing module is not one of agentloop's optional packages (a user's tools
    file importing something else keeps its own error).
    """
    name = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(name)
    if extra is None:
        return None
    return (
        f"agentloop {command} needs the [{extra}] extra ({name} is missing): "
        f"pip install 'agentloop[{extra}]'"
    )
