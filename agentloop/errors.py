"""Every error agentloop raises, one class per meaning.

The hierarchy. A builtin in brackets: the class is also that builtin, for code that catches it
(a subclass inherits its parent's). One builtin per class, as httpx does, but for the ones
marked *: they keep a second one their calls raised before they became agentloop errors::

    AgentloopError                         .turn: the turn it stopped, when it stopped one
    ├── MissingAPIKeyError
    ├── ConfigurationError [ValueError]    a setting that cannot work
    │   └── InvalidURLError
    ├── InputError [ValueError]            the user input of a turn cannot be sent
    ├── RequestValidationError [ValueError] a request refused before it was sent
    │   ├── RequestEncodingError [TypeError]*  a body value JSON cannot hold
    │   └── UnknownFieldError [TypeError]*  a body field the client does not know
    ├── StreamNotFinishedError [RuntimeError]
    ├── StateError [RuntimeError, ValueError]*  the conversation's status forbids the call;
    │   │                                  a closed client
    │   └── TurnInProgressError            one turn at a time
    ├── TurnIndexError [IndexError]        a turn index that names no turn
    ├── SnapshotError [ValueError]         a saved conversation that cannot be loaded
    ├── ConflictError                      a stored conversation changed first (not HTTP)
    ├── StoreError                         the store's database or file failed
    ├── ConversationNotFoundError [KeyError]
    ├── APIError                           the API answered with an error
    │   ├── InvalidRequestError (400)
    │   │   └── ContextWindowExceededError
    │   ├── AuthenticationError (401)
    │   ├── PermissionDeniedError (403)
    │   ├── NotFoundError (404)
    │   ├── APIConflictError (409)         not a ConflictError: a store conflict is another thing
    │   ├── RateLimitError (429)
    │   └── ServerError (5xx)
    ├── APIConnectionError                 no answer: network, timeout, a dropped stream
    │   ├── APITimeoutError
    │   └── StreamInterruptedError
    │       └── StreamTimeoutError (also an APITimeoutError)
    ├── TurnError                          a turn stopped before the model finished
    │   ├── MaxStepsExceeded
    │   ├── InteractionFailedError
    │   ├── InteractionCancelledError
    │   ├── InteractionIncompleteError
    │   ├── MalformedResponseError
    │   ├── UnexpectedStatusError
    │   ├── OutputValidationError
    │   ├── UsageLimitExceeded
    │   ├── HookError
    │   └── RequestVetoedError
    ├── ToolDefinitionError [ValueError]   a tool that cannot be declared
    │   └── ToolSchemaError
    ├── ToolError                          raised by a tool: its message goes to the model
    │   └── ModelRetry                     ask the model for another try
    ├── UnknownToolError [LookupError]
    ├── ToolTimeoutError [TimeoutError]
    ├── ToolResultError [ValueError]
    ├── ArgumentsInvalidError [ValueError]
    ├── InstrumentationError [RuntimeError]
    ├── MCPServerError
    ├── TaskNotFoundError [KeyError]
    ├── TaskFailedError
    ├── TaskTimeoutError [TimeoutError]
    ├── WebhookVerificationError [ValueError]
    └── EvalError [ValueError]

    MissingToolsWarning (a UserWarning, not an error): a conversation loaded without some
    of its tools.

HTTP errors carry what the API said (``status_code``, ``status``, ``code``, ``message``, the
parsed ``body``) and never the request: the API key travels only in a request header, and no
header is ever copied into an exception. Every class pickles cleanly (``__reduce__``) so errors
cross process boundaries (multiprocessing, task queues) unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentloop.loop.turn import Turn

__all__ = [
    "APIConflictError",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AgentloopError",
    "ArgumentsInvalidError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "ContextWindowExceededError",
    "ConversationNotFoundError",
    "EvalError",
    "HookError",
    "InputError",
    "InstrumentationError",
    "InteractionCancelledError",
    "InteractionFailedError",
    "InteractionIncompleteError",
    "InvalidRequestError",
    "InvalidURLError",
    "MCPServerError",
    "MalformedResponseError",
    "MaxStepsExceeded",
    "MissingAPIKeyError",
    "MissingToolsWarning",
    "ModelRetry",
    "NotFoundError",
    "OutputValidationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestEncodingError",
    "RequestValidationError",
    "RequestVetoedError",
    "ServerError",
    "SnapshotError",
    "StateError",
    "StoreError",
    "StreamInterruptedError",
    "StreamNotFinishedError",
    "StreamTimeoutError",
    "TaskFailedError",
    "TaskNotFoundError",
    "TaskTimeoutError",
    "ToolDefinitionError",
    "ToolError",
    "ToolResultError",
    "ToolSchemaError",
    "ToolTimeoutError",
    "TurnError",
    "TurnInProgressError",
    "TurnIndexError",
    "UnexpectedStatusError",
    "UnknownFieldError",
    "UnknownToolError",
    "UsageLimitExceeded",
    "WebhookVerificationError",
    "error_class_for_status",
]


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return cls(*args, **kwargs)


class AgentloopError(Exception):
    """Base class of every agentloop error.

    ``turn`` is the ``Turn`` the error stopped (what it did so far), when it was raised
    inside one; ``None`` otherwise."""

    turn: Turn | None = None


class WebhookVerificationError(AgentloopError, ValueError):
    """A webhook delivery failed verification (missing header, stale timestamp, no matching
    signature, or not an event): it must not be acted on (``agentloop.webhooks.verify``)."""


class MissingAPIKeyError(AgentloopError):
    """No API key was given and ``GEMINI_API_KEY`` is not set."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (
            "No API key: set the GEMINI_API_KEY environment variable, or pass "
            "Client(api_key=...). To run offline without a key, use the bundled emulator: "
            "Emulator().client() (from agentloop.testing import Emulator), or start "
            "`agentloop emulator --port 8080` and set GEMINI_BASE_URL=http://127.0.0.1:8080 "
            "with any GEMINI_API_KEY."
        )
        super().__init__(self.message)

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), (self.message,), {}))


class RequestValidationError(AgentloopError, ValueError):
    """The request was rejected on the client side, before anything was sent."""


class StreamNotFinishedError(AgentloopError, RuntimeError):
    """The final interaction of a stream was asked for before the stream ended."""


class InputError(AgentloopError, ValueError):
    """The user input given to a turn cannot be sent (an unknown form, or text that cannot
    be encoded); nothing was added to history."""


class TurnIndexError(AgentloopError, IndexError):
    """A turn index (``fork(at=)``, ``rewind(turns)``, ``replay(at)``) names no turn of the
    conversation; ``conv.turns`` lists them. Nothing was changed."""


class StateError(AgentloopError, RuntimeError, ValueError):
    """The conversation's status does not allow this call (e.g. ``resume()`` with no paused
    turn): every illegal move of the status table (``agentloop.loop.status``) raises it, and
    the message says what to call instead. Also a ``RuntimeError`` and a ``ValueError``, the
    builtins such calls raised before (``approve()`` of a call not awaiting approval raised
    ``ValueError``): kept so that code catching them keeps working. A ``Client`` or
    ``AsyncClient`` used after ``close()`` raises it too (httpx's own error was a bare
    ``RuntimeError``)."""


class TurnInProgressError(StateError):
    """A turn was started on a conversation whose previous turn is still running (from
    another thread or task, a background turn, or another writer holding the stored
    conversation's live-turn lease); one turn at a time. Nothing was changed.

    For a stored conversation whose turn runs in another writer, ``owner`` names that writer
    (host, process id and a token) and ``expires`` is when its lease runs out (seconds since
    the epoch, ``time.time()`` form) unless it renews it; ``conversation_id`` is the id.
    """

    def __init__(
        self,
        message: str,
        *,
        conversation_id: str | None = None,
        owner: str | None = None,
        expires: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.conversation_id = conversation_id
        self.owner = owner
        self.expires = expires

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Any:
        kwargs = {
            "conversation_id": self.conversation_id,
            "owner": self.owner,
            "expires": self.expires,
        }
        return (_rebuild, (type(self), (self.message,), kwargs))


class SnapshotError(AgentloopError, ValueError):
    """A saved conversation (file, dict or journal) is not one agentloop can load: the
    message names the field that is wrong."""


class ConflictError(AgentloopError):
    """Someone else changed it first.

    For a stored conversation: another writer appended to it since this object last read it.
    Nothing was written; reload the conversation (``store.load(id, ...)``) and try again.
    An HTTP 409 from the API is :class:`APIConflictError`, an ``APIError``, not this.
    """

    def __init__(
        self,
        message: str,
        *,
        conversation_id: str | None = None,
        expected_version: int | None = None,
        actual_version: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.conversation_id = conversation_id
        self.expected_version = expected_version
        self.actual_version = actual_version

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Any:
        kwargs = {
            "conversation_id": self.conversation_id,
            "expected_version": self.expected_version,
            "actual_version": self.actual_version,
        }
        return (_rebuild, (type(self), (self.message,), kwargs))


class StoreError(AgentloopError):
    """A conversation store failed (its database or file could not be read or written)."""


class ConversationNotFoundError(AgentloopError, KeyError):
    """No conversation with this id in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "conversation not found"


# --- HTTP errors ----------------------------------------------------------------------------


class APIError(AgentloopError):
    """The API answered with an error (or with a success body that is not an interaction)."""

    hint: str = ""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        status: str | None = None,
        code: int | str | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.status = status
        self.code = code
        self.body = body
        self.retry_after = retry_after
        super().__init__(message)

    def __str__(self) -> str:
        where = []
        if self.status_code is not None:
            where.append(f"HTTP {self.status_code}")
        if self.status:
            where.append(self.status)
        elif self.code is not None and not isinstance(self.code, int):
            where.append(str(self.code))
        text = f"{' '.join(where)}: {self.message}" if where else self.message
        if self.retry_after is not None:
            text += f" (the API asked to wait {self.retry_after:g} s before retrying)"
        return f"{text}. {self.hint}" if self.hint else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, status={self.status!r}, "
            f"code={self.code!r}, message={self.message!r})"
        )

    def __reduce__(self) -> Any:
        kwargs = {
            "status_code": self.status_code,
            "status": self.status,
            "code": self.code,
            "body": self.body,
            "retry_after": self.retry_after,
        }
        return (_rebuild, (type(self), (self.message,), kwargs))


class InvalidRequestError(APIError):
    """400, 422 or another 4xx without its own class: the request itself is wrong."""

    hint = "Fix the request: the message above says which field the API rejected."


class AuthenticationError(APIError):
    """401: the API key is missing or invalid."""

    hint = "Check that GEMINI_API_KEY (or Client(api_key=...)) holds a valid Gemini API key."


class PermissionDeniedError(APIError):
    """403: the key is valid but may not use this model, agent or resource."""

    hint = "Check the key's project has access to this model or agent, and the API is enabled."


class NotFoundError(APIError):
    """404: no such interaction (deleted, stored with ``store=false``, or a wrong id)."""

    hint = (
        "Check the id; interactions created with store=false or deleted ones cannot be "
        "fetched or chained with previous_interaction_id."
    )


class APIConflictError(APIError):
    """409: the resource changed concurrently on the server; retried automatically. (Not a
    ``ConflictError``: that one is a stored conversation another writer changed.)"""

    hint = "Retry the request; it conflicted with a concurrent change."


class RateLimitError(APIError):
    """429: quota or rate limit reached; retried automatically with backoff."""

    hint = (
        "Slow down: wait and retry, raise Client(max_retries=...), or check your quota "
        "(https://ai.google.dev/gemini-api/docs/rate-limits)."
    )


class ContextWindowExceededError(InvalidRequestError):
    """400: the request's input is longer than the model's context window.

    ``input_tokens`` is what the request held when known. Enable ``agentloop.Compaction`` (or
    start a new conversation); the conversation stays usable.
    """

    hint = (
        "The request is longer than the model's context window: enable compaction with "
        "Conversation(..., compaction=agentloop.Compaction(trigger_tokens=...)) (or call "
        "conv.compact()) and send again; the conversation stays usable."
    )

    def __str__(self) -> str:
        return super().__str__().replace(".. ", ". ", 1)  # the API's message ends with a dot

    @property
    def input_tokens(self) -> int | None:
        """The input tokens the API counted in the request (from its message), if it said."""
        import re

        found = re.search(r"input token count[^0-9]*(\d+)", self.message, re.IGNORECASE)
        return int(found.group(1)) if found else None


class ServerError(APIError):
    """5xx: the service failed; retried automatically with backoff."""

    hint = "The service had a problem; retry later (raise Client(max_retries=...) to retry more)."


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: APIConflictError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def error_class_for_status(status_code: int) -> type[APIError]:
    """The error class for an HTTP status (unknown statuses map to the family's class)."""
    cls = _STATUS_CLASSES.get(status_code)
    if cls is not None:
        return cls
    if status_code >= 500:
        return ServerError
    if 400 <= status_code < 500:
        return InvalidRequestError
    return APIError


# --- transport errors -----------------------------------------------------------------------


class APIConnectionError(AgentloopError):
    """The API could not be reached, or the connection broke before an answer arrived."""

    hint = "Check the network and Client(base_url=...) (or GEMINI_BASE_URL), then retry."

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message}. {self.hint}"

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), (self.message,), {}))


class APITimeoutError(APIConnectionError):
    """The request or the wait for an interaction took longer than allowed."""

    hint = "Raise the timeout (Client(timeout=...) or timeout= on the call), or retry."


class StreamInterruptedError(APIConnectionError):
    """A stream broke after delivering events and could not be resumed.

    ``partial_interaction`` holds what the stream assembled so far; resume it yourself with
    ``client.interactions.get(interaction_id, stream=True, last_event_id=last_event_id)``.
    """

    hint = (
        "Resume with client.interactions.get(interaction_id, stream=True, "
        "last_event_id=last_event_id), or poll it with client.interactions.get(interaction_id)."
    )

    def __init__(
        self,
        message: str,
        *,
        interaction_id: str | None = None,
        last_event_id: str | None = None,
        events_delivered: int = 0,
        partial_interaction: Any = None,
    ) -> None:
        super().__init__(message)
        self.interaction_id = interaction_id
        self.last_event_id = last_event_id
        self.events_delivered = events_delivered
        self.partial_interaction = partial_interaction

    def __reduce__(self) -> Any:
        kwargs = {
            "interaction_id": self.interaction_id,
            "last_event_id": self.last_event_id,
            "events_delivered": self.events_delivered,
            "partial_interaction": self.partial_interaction,
        }
        return (_rebuild, (type(self), (self.message,), kwargs))


# --- turn errors (raised by Conversation; each carries the partial turn) --------------------


class TurnError(AgentloopError):
    """A turn stopped before the model finished. ``.turn`` holds what it did so far."""

    def __init__(self, message: str, turn: Turn | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.turn = turn

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.turn))

    def __str__(self) -> str:
        return self.message


class MaxStepsExceeded(TurnError):
    """The turn made ``max_steps`` model requests and the model still wanted to go on."""

    def __init__(self, message: str, turn: Turn | None = None, max_steps: int = 0) -> None:
        super().__init__(message, turn)
        self.max_steps = max_steps

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.turn, self.max_steps))


class InteractionFailedError(TurnError):
    """The interaction ended with status ``failed``; ``.errors`` has the API's details."""

    def __init__(self, message: str, turn: Turn | None = None, errors: Any = None) -> None:
        super().__init__(message, turn)
        self.errors = errors

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.turn, self.errors))


class InteractionCancelledError(TurnError):
    """The interaction was cancelled (``status: cancelled``)."""


class InteractionIncompleteError(TurnError):
    """The interaction stopped early (``incomplete`` or ``budget_exceeded``)."""


class MalformedResponseError(TurnError):
    """The server's response cannot be used as it is (e.g. repeated function call ids): none
    of its calls ran, it was not added to history, and the next request does not chain onto
    it. Send again to retry the turn."""


class UnexpectedStatusError(TurnError):
    """The interaction ended with a status this version of agentloop does not know."""


class OutputValidationError(TurnError):
    """The model's final text did not parse into the turn's ``response_model``."""


class UsageLimitExceeded(TurnError):
    """A ``UsageLimits`` limit was reached: ``limit`` names it, ``value`` is the figure that
    reached or would exceed ``maximum``. History stays usable (no unanswered calls)."""

    def __init__(
        self,
        message: str,
        turn: Turn | None = None,
        limit: str = "",
        value: float = 0.0,
        maximum: float = 0.0,
    ) -> None:
        super().__init__(message, turn)
        self.limit = limit
        self.value = value
        self.maximum = maximum

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.turn, self.limit, self.value, self.maximum))


# --- long loops: compaction and usage limits ---------------------------------------------------


class ConfigurationError(AgentloopError, ValueError):
    """A setting is invalid (a ``Compaction`` or ``UsageLimits`` argument, or a cost limit for
    a model without a price); refused before anything is sent."""


# --- client configuration and stream errors ---------------------------------------------------


class InvalidURLError(ConfigurationError):
    """A URL given to agentloop (e.g. ``Client(base_url=...)`` or ``GEMINI_BASE_URL``) is not
    a usable ``http(s)://host[:port][/path]`` URL; the message names it."""


class RequestEncodingError(RequestValidationError, TypeError):
    """A value of a request body cannot be encoded as JSON (an object JSON cannot hold, text
    with lone surrogates); nothing was sent. Also a ``TypeError``, as ``json.dumps`` raised
    before."""


class UnknownFieldError(RequestValidationError, TypeError):
    """``create()`` got a field the client does not know (a misspelling, or a field newer
    than this client); nothing was sent. Send such fields with ``extra_body={...}``. Also a
    ``TypeError``, as an unexpected keyword argument is in Python."""


class StreamTimeoutError(StreamInterruptedError, APITimeoutError):
    """A stream sent no event for ``stream_idle_timeout`` seconds (keep-alive comments do not
    count) and could not be resumed. It is both a :class:`StreamInterruptedError` (with the
    partial interaction) and an :class:`APITimeoutError`."""

    hint = (
        "Raise Client(stream_idle_timeout=...) (None turns the deadline off), or resume with "
        "client.interactions.get(interaction_id, stream=True, last_event_id=last_event_id)."
    )


# --- tool errors ---------------------------------------------------------------------------------


class ToolDefinitionError(AgentloopError, ValueError):
    """A function cannot be declared as a tool; the message names the tool and the parameter.

    Raised while *declaring* a tool (``@tool``, ``ToolRegistry.add``): a programming error."""


class ToolSchemaError(ToolDefinitionError):
    """A type cannot be turned into a JSON schema for a tool parameter (the tool builder
    re-raises it as a :class:`ToolDefinitionError` naming the tool and the parameter)."""


class ToolError(AgentloopError):
    """Raise inside a tool to report a failure to the model with exactly this message.

    Other exceptions are reported as ``"<ExceptionType>: <message>"``; a ``ToolError`` sends
    only its message, so it can tell the model what to do next::

        raise ToolError("No flights on that date. Try a date within the next 30 days.")
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), (self.message,), {}))


class ModelRetry(ToolError):
    """Raise in a tool or an output validator to ask the model for another try with this
    message: from a tool it becomes the call's ``is_error`` result; from an output validator
    it goes back to the model as the reason its answer was refused (``output_retries``)."""


class UnknownToolError(AgentloopError, LookupError):
    """The model called a tool that is not registered (reported to it as an error result,
    and kept on ``ToolOutcome.error``)."""


class ToolTimeoutError(AgentloopError, TimeoutError):
    """A tool ran longer than its ``timeout`` (reported to the model as an error result).

    Python cannot stop a running thread: a timed-out sync tool keeps running in its daemon
    thread until it returns, and its result is discarded."""


class ToolResultError(AgentloopError, ValueError):
    """A tool returned a value that cannot be sent as a result (text that is not valid
    Unicode, NaN, a circular structure, an object JSON cannot hold). The call is answered
    with an ``is_error`` result naming the problem, with a repaired value where possible;
    this error is kept on ``ToolOutcome.error``."""


class ArgumentsInvalidError(AgentloopError, ValueError):
    """The model's arguments for a tool are not usable: not a JSON object, or they failed
    validation. ``problems`` are ``"field: what is wrong"`` texts (reported to the model as an
    error result; the tool is not called)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), (list(self.problems),), {}))


# --- hooks and observability (agentloop.loop.hooks, agentloop.observe) ----------------------


class HookError(TurnError):
    """A hook raised an exception; the turn ended (every open call got an error result).

    ``hook`` names the hook point (``before_request``, ``after_response``, ``before_tool``,
    ``after_tool``); the hook's own exception is the ``__cause__``."""

    def __init__(self, message: str, turn: Turn | None = None, hook: str = "") -> None:
        super().__init__(message, turn)
        self.hook = hook

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.turn, self.hook))


class RequestVetoedError(TurnError):
    """A ``before_request`` hook vetoed a model request (``Deny(reason)``); ``reason`` says why.
    History stays usable: calls still open were answered with an error result."""

    def __init__(self, message: str, turn: Turn | None = None, reason: str = "") -> None:
        super().__init__(message, turn)
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.turn, self.reason))


class InstrumentationError(AgentloopError, RuntimeError):
    """``agentloop.instrument()`` cannot turn tracing on (usually: opentelemetry-api is not
    installed; ``pip install 'agentloop[otel]'``)."""


# --- MCP (agentloop.mcp) -------------------------------------------------------------------------


class MCPServerError(AgentloopError):
    """An MCP server could not be started, listed or reached; ``server`` names it.

    Raised at the first turn that needs the server's tools (never a hang: starting is bounded
    by the toolset's ``startup_timeout``). Failures of single calls are not raised: the model
    gets them as ``is_error`` function results.
    """

    def __init__(self, message: str, server: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.server = server

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.server))


# --- durable tasks (agentloop.durable) ----------------------------------------------------------


class TaskNotFoundError(AgentloopError, KeyError):
    """No durable task with this id in the task database (check the id and ``--db``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "task not found"


class TaskFailedError(AgentloopError):
    """A durable task ended without an answer: ``status`` is ``failed`` or ``cancelled``.

    ``task_id`` names the task; the message says why and what to do.
    """

    def __init__(self, message: str, task_id: str = "", status: str = "failed") -> None:
        super().__init__(message)
        self.message = message
        self.task_id = task_id
        self.status = status

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.task_id, self.status))


class TaskTimeoutError(AgentloopError, TimeoutError):
    """Waiting for a durable task's result took longer than the timeout (the task goes on)."""


class EvalError(AgentloopError, ValueError):
    """An eval dataset, an evaluator or an ``--agent`` reference is not usable (the message
    names the file and the place in it)."""


class MissingToolsWarning(UserWarning):
    """A saved conversation was loaded without some of the tools it was saved with.

    The model still sees the tools that were given; a call to a missing one is answered
    with an ``is_error`` result. Pass them with ``tools=`` (or ``--tools`` on the CLI).
    """
