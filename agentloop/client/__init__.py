"""The HTTP client of the Interactions API: ``Client`` (sync) and ``AsyncClient`` (asyncio).

Request building, response parsing, SSE decoding and stream assembly are shared sans-I/O code
(``_core``, ``_sse``, ``_stream``, ``_retry``); ``_sync`` and ``_async`` only move bytes.
"""

from ._async import AsyncClient, AsyncInteractions, AsyncInteractionStream
from ._core import API_REVISION, DEFAULT_BASE_URL, CreateParams
from ._retry import RetryEvent, RetryPolicy, on_retry
from ._stream import StreamAccumulator
from ._sync import Client, Interactions, InteractionStream

__all__ = [
    "API_REVISION",
    "DEFAULT_BASE_URL",
    "AsyncClient",
    "AsyncInteractionStream",
    "AsyncInteractions",
    "Client",
    "CreateParams",
    "InteractionStream",
    "Interactions",
    "RetryEvent",
    "RetryPolicy",
    "StreamAccumulator",
    "on_retry",
]
