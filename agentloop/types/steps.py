"""Steps: the entries of an interaction's history (spec section 4.1)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, Tag

from ._base import UNKNOWN_TAG, OpenUnion, UnknownMixin, WireModel
from .content import Content, ThoughtSummaryContent
from .values import RetrievalType, SearchType

__all__ = [
    "CodeExecutionCallArguments",
    "CodeExecutionCallStep",
    "CodeExecutionResultStep",
    "FileSearchCallStep",
    "FileSearchResultStep",
    "FunctionCallStep",
    "FunctionResult",
    "FunctionResultStep",
    "GoogleMapsCallArguments",
    "GoogleMapsCallStep",
    "GoogleMapsResult",
    "GoogleMapsResultPlace",
    "GoogleMapsResultStep",
    "GoogleSearchCallArguments",
    "GoogleSearchCallStep",
    "GoogleSearchResult",
    "GoogleSearchResultStep",
    "MCPServerToolCallStep",
    "MCPServerToolResultStep",
    "ModelOutputStep",
    "ProcessingCallStep",
    "ProcessingResultStep",
    "RetrievalCallArguments",
    "RetrievalCallStep",
    "RetrievalResultStep",
    "Status",
    "Step",
    "ThoughtStep",
    "URLContextCallArguments",
    "URLContextCallStep",
    "URLContextResult",
    "URLContextResultStep",
    "UnknownStep",
    "UserInputStep",
]

from .content import ReviewSnippet

# A function result is a string, a list of content blocks, or any JSON object.
FunctionResult = Union[str, list[Content], dict[str, Any]]


class Status(WireModel):
    """A ``google.rpc.Status``: the error of a failed ``model_output``."""

    code: int | None = None
    message: str | None = None
    details: list[dict[str, Any]] | None = None


class UserInputStep(WireModel):
    type: Literal["user_input"] = "user_input"
    # The docs' REST examples send a plain string; the SDK schema has a content list.
    content: list[Content] | str | None = None


class ModelOutputStep(WireModel):
    type: Literal["model_output"] = "model_output"
    content: list[Content] | None = None
    error: Status | None = None


class ThoughtStep(WireModel):
    """The model's reasoning. Resend it verbatim (with its ``signature``) in stateless mode."""

    type: Literal["thought"] = "thought"
    signature: str | None = None
    summary: list[ThoughtSummaryContent] | None = None


class FunctionCallStep(WireModel):
    """The model asks the client to run a function and answer with a ``FunctionResultStep``.

    When the model's arguments were not a JSON object (a streamed ``arguments_delta`` text
    that does not parse, a JSON array, ...), ``arguments`` is ``{}`` and
    :attr:`invalid_arguments` holds the text as received: such a call must be answered with
    an error, never run. That marker is local: it is not sent on the wire nor saved.
    """

    type: Literal["function_call"] = "function_call"
    # Read tolerantly (the API may leave any of them out); a call without an ``id`` gets a
    # stable local one when its interaction is read (see ``Interaction``), one without a
    # ``name`` cannot be answered and stops the turn with ``MalformedResponseError``.
    id: str = ""
    name: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)
    # The marker lives in pydantic's private-state dict, set only on marked calls (copies,
    # pickles and == carry it). Not a declared PrivateAttr: one makes pydantic call back into
    # Python for every call it validates (~1.8 µs, twice the rest of the step's validation).

    @property
    def invalid_arguments(self) -> str | None:
        """The model's arguments as received when they are not a JSON object, else None."""
        private = self.__pydantic_private__
        return None if private is None else private.get("_invalid_arguments")

    def mark_invalid_arguments(self, raw: str) -> None:
        """Record that the model sent ``raw`` as this call's arguments, which is not a JSON
        object (``arguments`` then holds ``{}``); see :attr:`invalid_arguments`."""
        object.__setattr__(self, "__pydantic_private__", {"_invalid_arguments": raw})


class FunctionResultStep(WireModel):
    """The client's answer to a ``FunctionCallStep`` (``call_id`` is the call's ``id``)."""

    type: Literal["function_result"] = "function_result"
    call_id: str = ""
    result: FunctionResult = ""
    name: str | None = None
    is_error: bool | None = None


class CodeExecutionCallArguments(WireModel):
    code: str | None = None
    language: Literal["python", "bash"] | str | None = None


class CodeExecutionCallStep(WireModel):
    type: Literal["code_execution_call"] = "code_execution_call"
    id: str | None = None
    arguments: CodeExecutionCallArguments | None = None
    signature: str | None = None


class CodeExecutionResultStep(WireModel):
    type: Literal["code_execution_result"] = "code_execution_result"
    call_id: str | None = None
    result: str | list[Content] | None = None
    is_error: bool | None = None
    signature: str | None = None


class GoogleSearchCallArguments(WireModel):
    queries: list[str] | None = None


class GoogleSearchCallStep(WireModel):
    type: Literal["google_search_call"] = "google_search_call"
    id: str | None = None
    arguments: GoogleSearchCallArguments | None = None
    search_type: SearchType | None = None
    signature: str | None = None


class GoogleSearchResult(WireModel):
    search_suggestions: str | None = None


class GoogleSearchResultStep(WireModel):
    type: Literal["google_search_result"] = "google_search_result"
    call_id: str | None = None
    result: list[GoogleSearchResult] | None = None
    is_error: bool | None = None
    signature: str | None = None


class URLContextCallArguments(WireModel):
    urls: list[str] | None = None


class URLContextCallStep(WireModel):
    type: Literal["url_context_call"] = "url_context_call"
    id: str | None = None
    arguments: URLContextCallArguments | None = None
    signature: str | None = None


class URLContextResult(WireModel):
    url: str | None = None
    status: Literal["success", "error", "paywall", "unsafe"] | str | None = None


class URLContextResultStep(WireModel):
    type: Literal["url_context_result"] = "url_context_result"
    call_id: str | None = None
    result: list[URLContextResult] | None = None
    is_error: bool | None = None
    signature: str | None = None


class GoogleMapsCallArguments(WireModel):
    queries: list[str] | None = None


class GoogleMapsCallStep(WireModel):
    type: Literal["google_maps_call"] = "google_maps_call"
    id: str | None = None
    arguments: GoogleMapsCallArguments | None = None
    signature: str | None = None


class GoogleMapsResultPlace(WireModel):
    place_id: str | None = None
    name: str | None = None
    url: str | None = None
    review_snippets: list[ReviewSnippet] | None = None


class GoogleMapsResult(WireModel):
    places: list[GoogleMapsResultPlace] | None = None
    widget_context_token: str | None = None


class GoogleMapsResultStep(WireModel):
    type: Literal["google_maps_result"] = "google_maps_result"
    call_id: str | None = None
    result: list[GoogleMapsResult] | None = None
    signature: str | None = None


class FileSearchCallStep(WireModel):
    type: Literal["file_search_call"] = "file_search_call"
    id: str | None = None
    signature: str | None = None


class FileSearchResultStep(WireModel):
    type: Literal["file_search_result"] = "file_search_result"
    call_id: str | None = None
    signature: str | None = None


class MCPServerToolCallStep(WireModel):
    type: Literal["mcp_server_tool_call"] = "mcp_server_tool_call"
    id: str | None = None
    name: str | None = None
    server_name: str | None = None
    arguments: dict[str, Any] | None = None


class MCPServerToolResultStep(WireModel):
    type: Literal["mcp_server_tool_result"] = "mcp_server_tool_result"
    call_id: str | None = None
    result: FunctionResult | None = None
    name: str | None = None
    server_name: str | None = None


class RetrievalCallArguments(WireModel):
    queries: list[str] | None = None


class RetrievalCallStep(WireModel):
    type: Literal["retrieval_call"] = "retrieval_call"
    id: str | None = None
    arguments: RetrievalCallArguments | None = None
    retrieval_type: RetrievalType | None = None
    signature: str | None = None


class RetrievalResultStep(WireModel):
    type: Literal["retrieval_result"] = "retrieval_result"
    call_id: str | None = None
    is_error: bool | None = None
    signature: str | None = None


class ProcessingCallStep(WireModel):
    type: Literal["processing_call"] = "processing_call"
    id: str | None = None
    signature: str | None = None


class ProcessingResultStep(WireModel):
    type: Literal["processing_result"] = "processing_result"
    call_id: str | None = None
    signature: str | None = None


class UnknownStep(UnknownMixin, WireModel):
    """A step type this version does not know; kept and resent exactly as received."""

    type: str | None = None


STEP_TYPES: dict[str, type[WireModel]] = {
    "user_input": UserInputStep,
    "model_output": ModelOutputStep,
    "thought": ThoughtStep,
    "function_call": FunctionCallStep,
    "function_result": FunctionResultStep,
    "code_execution_call": CodeExecutionCallStep,
    "code_execution_result": CodeExecutionResultStep,
    "google_search_call": GoogleSearchCallStep,
    "google_search_result": GoogleSearchResultStep,
    "url_context_call": URLContextCallStep,
    "url_context_result": URLContextResultStep,
    "google_maps_call": GoogleMapsCallStep,
    "google_maps_result": GoogleMapsResultStep,
    "file_search_call": FileSearchCallStep,
    "file_search_result": FileSearchResultStep,
    "mcp_server_tool_call": MCPServerToolCallStep,
    "mcp_server_tool_result": MCPServerToolResultStep,
    "retrieval_call": RetrievalCallStep,
    "retrieval_result": RetrievalResultStep,
    "processing_call": ProcessingCallStep,
    "processing_result": ProcessingResultStep,
}

Step = Annotated[
    Annotated[UserInputStep, Tag("user_input")]
    | Annotated[ModelOutputStep, Tag("model_output")]
    | Annotated[ThoughtStep, Tag("thought")]
    | Annotated[FunctionCallStep, Tag("function_call")]
    | Annotated[FunctionResultStep, Tag("function_result")]
    | Annotated[CodeExecutionCallStep, Tag("code_execution_call")]
    | Annotated[CodeExecutionResultStep, Tag("code_execution_result")]
    | Annotated[GoogleSearchCallStep, Tag("google_search_call")]
    | Annotated[GoogleSearchResultStep, Tag("google_search_result")]
    | Annotated[URLContextCallStep, Tag("url_context_call")]
    | Annotated[URLContextResultStep, Tag("url_context_result")]
    | Annotated[GoogleMapsCallStep, Tag("google_maps_call")]
    | Annotated[GoogleMapsResultStep, Tag("google_maps_result")]
    | Annotated[FileSearchCallStep, Tag("file_search_call")]
    | Annotated[FileSearchResultStep, Tag("file_search_result")]
    | Annotated[MCPServerToolCallStep, Tag("mcp_server_tool_call")]
    | Annotated[MCPServerToolResultStep, Tag("mcp_server_tool_result")]
    | Annotated[RetrievalCallStep, Tag("retrieval_call")]
    | Annotated[RetrievalResultStep, Tag("retrieval_result")]
    | Annotated[ProcessingCallStep, Tag("processing_call")]
    | Annotated[ProcessingResultStep, Tag("processing_result")]
    | Annotated[UnknownStep, Tag(UNKNOWN_TAG)],
    OpenUnion("type"),
]
"""Any step; unknown step types validate as ``UnknownStep``."""
