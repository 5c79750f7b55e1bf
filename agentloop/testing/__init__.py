"""Test helpers: a faithful local emulator of the Gemini Interactions API.

``Emulator`` is a pure request handler with adapters for in-process httpx
(``emulator.transport()``), ASGI (``emulator.asgi_app()``) and a loopback server
(``emulator.serve()``). Models decide what it answers: ``DemoModel`` (default),
``ScriptedModel`` and ``FunctionModel``.
"""

from .demo import DemoModel
from .emulator import Emulator, EmulatorResponse, RecordedRequest
from .faults import Faults
from .models import FunctionModel, Model, ModelRequest, Reply, ScriptedModel

__all__ = [
    "DemoModel",
    "Emulator",
    "EmulatorResponse",
    "Faults",
    "FunctionModel",
    "Model",
    "ModelRequest",
    "RecordedRequest",
    "Reply",
    "ScriptedModel",
]
