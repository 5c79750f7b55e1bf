"""Test helpers: a faithful local emulator of the Gemini Interactions API.

``Emulator`` is a pure request handler with adapters for in-process httpx
(``emulator.transport()``), ASGI (``emulator.asgi_app()``) and a loopback server
(``emulator.serve()``). Models decide what it answers: ``DemoModel`` (default),
``ScriptedModel`` and ``FunctionModel``. ``count_tokens`` is the emulator's documented token
rule (``ceil(chars / 4)`` of each step's canonical JSON; see :mod:`agentloop.testing.tokens`).

Recordings (record live traffic once, replay it offline with vcrpy) are in
:mod:`agentloop.testing.recordings`.

Names load lazily so that the pytest plugin (loaded in every pytest session of every
project that installs agentloop) costs nothing until a fixture is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "DemoModel": "agentloop.testing.demo",
    "Emulator": "agentloop.testing.emulator",
    "RecordedRequest": "agentloop.testing.emulator",
    "Faults": "agentloop.testing.faults",
    "KNOWN_AGENTS": "agentloop.testing.tokens",
    "KNOWN_MODELS": "agentloop.testing.tokens",
    "DEFAULT_SIGNING_KEY": "agentloop.testing.signatures",
    "DEFAULT_WEBHOOK_SECRET": "agentloop.testing.webhooks",
    "WebhookDelivery": "agentloop.testing.webhooks",
    "count_tokens": "agentloop.testing.tokens",
    "FunctionModel": "agentloop.testing.models",
    "Model": "agentloop.testing.models",
    "ModelRequest": "agentloop.testing.models",
    "Reply": "agentloop.testing.models",
    "ScriptedModel": "agentloop.testing.models",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .demo import DemoModel as DemoModel
    from .emulator import Emulator as Emulator
    from .emulator import RecordedRequest as RecordedRequest
    from .faults import Faults as Faults
    from .models import FunctionModel as FunctionModel
    from .models import Model as Model
    from .models import ModelRequest as ModelRequest
    from .models import Reply as Reply
    from .models import ScriptedModel as ScriptedModel
    from .signatures import DEFAULT_SIGNING_KEY as DEFAULT_SIGNING_KEY
    from .tokens import KNOWN_AGENTS as KNOWN_AGENTS
    from .tokens import KNOWN_MODELS as KNOWN_MODELS
    from .tokens import count_tokens as count_tokens
    from .webhooks import DEFAULT_WEBHOOK_SECRET as DEFAULT_WEBHOOK_SECRET
    from .webhooks import WebhookDelivery as WebhookDelivery


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'agentloop.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
