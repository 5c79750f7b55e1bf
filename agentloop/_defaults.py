"""Defaults and one small helper shared across agentloop: each is defined here once."""

from __future__ import annotations

import os
import re

__all__ = ["DEFAULT_MODEL", "PASSWORD_PARAM", "new_id", "redact"]

DEFAULT_MODEL = "gemini-3.5-flash"
"""The model used when none is given: by ``Conversation``, the CLI, task queues, the web chat."""


def new_id(prefix: str = "", nbytes: int = 8) -> str:
    """A fresh random id: ``prefix`` followed by ``nbytes`` random bytes in hex."""
    return prefix + os.urandom(nbytes).hex()


PASSWORD_PARAM = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)", re.I)


def redact(dsn: str) -> str:
    """The DSN with its password replaced by ``***`` (URL and key=value forms).

    In a URL, everything between the user name and the last ``@`` before the query goes, so
    a password with an unescaped ``/`` or ``@`` is hidden too.
    """
    text = dsn
    scheme, sep, rest = text.partition("://")
    if sep:
        authority, q, query = rest.partition("?")
        at = authority.rfind("@")
        colon = authority.find(":", 0, at) if at != -1 else -1
        if colon != -1:
            authority = authority[:colon] + ":***" + authority[at:]
        text = scheme + sep + authority + q + query
    return PASSWORD_PARAM.sub(r"\1***", text)
