"""Tool declarations sent in ``tools[]`` (spec section 5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, Tag

from ._base import UNKNOWN_TAG, OpenUnion, UnknownMixin, WireModel
from .values import ComputerUseSafetyPolicy, RetrievalType, SearchType

__all__ = [
    "AllowedTools",
    "CodeExecution",
    "ComputerUse",
    "ExaAISearchConfig",
    "FileSearch",
    "Function",
    "GoogleMaps",
    "GoogleSearch",
    "MCPServer",
    "ParallelAISearchConfig",
    "RagFilter",
    "RagHybridSearch",
    "RagRankService",
    "RagRanking",
    "RagRetrievalConfig",
    "RagStoreConfig",
    "Retrieval",
    "Tool",
    "URLContext",
    "UnknownTool",
    "VertexAISearchConfig",
]


class Function(WireModel):
    """A client-side function the model may call (flat: no nested ``function`` key)."""

    type: Literal["function"] = "function"
    name: str | None = None
    description: str | None = None
    parameters: Any | None = None


class GoogleSearch(WireModel):
    type: Literal["google_search"] = "google_search"
    search_types: list[SearchType] | None = None


class CodeExecution(WireModel):
    type: Literal["code_execution"] = "code_execution"


class URLContext(WireModel):
    type: Literal["url_context"] = "url_context"


class FileSearch(WireModel):
    type: Literal["file_search"] = "file_search"
    file_search_store_names: list[str] | None = None
    metadata_filter: str | None = None
    top_k: int | None = None


class GoogleMaps(WireModel):
    type: Literal["google_maps"] = "google_maps"
    enable_widget: bool | None = None
    latitude: float | None = None
    longitude: float | None = None


class ComputerUse(WireModel):
    type: Literal["computer_use"] = "computer_use"
    environment: Literal["browser", "mobile", "desktop"] | str | None = None
    excluded_predefined_functions: list[str] | None = None
    disabled_safety_policies: list[ComputerUseSafetyPolicy] | None = None
    enable_prompt_injection_detection: bool | None = None


class AllowedTools(WireModel):
    mode: Literal["auto", "any", "none", "validated"] | str | None = None
    tools: list[str] | None = None


class MCPServer(WireModel):
    type: Literal["mcp_server"] = "mcp_server"
    name: str | None = None
    url: str | None = None
    headers: dict[str, str] | None = None
    allowed_tools: list[AllowedTools] | None = None


class VertexAISearchConfig(WireModel):
    engine: str | None = None
    datastores: list[str] | None = None


class RagResource(WireModel):
    rag_corpus: str | None = None
    rag_file_ids: list[str] | None = None


class RagFilter(WireModel):
    metadata_filter: str | None = None
    vector_distance_threshold: float | None = None
    vector_similarity_threshold: float | None = None


class RagHybridSearch(WireModel):
    alpha: float | None = None  # 0 = sparse (keyword) only, 1 = dense (vector) only


class RagRankService(WireModel):
    model_name: str | None = None


class RagRanking(WireModel):
    ranking_config: Literal["rank_service"] | str | None = None
    rank_service: RagRankService | None = None
    model_name: str | None = None


class RagRetrievalConfig(WireModel):
    """How a RAG store retrieves: ``top_k``, a ``filter``, hybrid search, re-ranking."""

    top_k: int | None = None
    filter_: RagFilter | None = Field(default=None, alias="filter")
    hybrid_search: RagHybridSearch | None = None
    ranking: RagRanking | None = None


class RagStoreConfig(WireModel):
    rag_resources: list[RagResource] | None = None
    rag_retrieval_config: RagRetrievalConfig | None = None
    similarity_top_k: int | None = None
    vector_distance_threshold: float | None = None


class ExaAISearchConfig(WireModel):
    api_key: str | None = None
    custom_config: dict[str, Any] | None = None


class ParallelAISearchConfig(WireModel):
    api_key: str | None = None
    custom_config: dict[str, Any] | None = None


class Retrieval(WireModel):
    type: Literal["retrieval"] = "retrieval"
    retrieval_types: list[RetrievalType] | None = None
    vertex_ai_search_config: VertexAISearchConfig | None = None
    rag_store_config: RagStoreConfig | None = None
    exa_ai_search_config: ExaAISearchConfig | None = None
    parallel_ai_search_config: ParallelAISearchConfig | None = None


class UnknownTool(UnknownMixin, WireModel):
    type: str | None = None


TOOL_TYPES: dict[str, type[WireModel]] = {
    "function": Function,
    "google_search": GoogleSearch,
    "code_execution": CodeExecution,
    "url_context": URLContext,
    "file_search": FileSearch,
    "google_maps": GoogleMaps,
    "computer_use": ComputerUse,
    "mcp_server": MCPServer,
    "retrieval": Retrieval,
}

Tool = Annotated[
    Annotated[Function, Tag("function")]
    | Annotated[GoogleSearch, Tag("google_search")]
    | Annotated[CodeExecution, Tag("code_execution")]
    | Annotated[URLContext, Tag("url_context")]
    | Annotated[FileSearch, Tag("file_search")]
    | Annotated[GoogleMaps, Tag("google_maps")]
    | Annotated[ComputerUse, Tag("computer_use")]
    | Annotated[MCPServer, Tag("mcp_server")]
    | Annotated[Retrieval, Tag("retrieval")]
    | Annotated[UnknownTool, Tag(UNKNOWN_TAG)],
    OpenUnion("type"),
]
