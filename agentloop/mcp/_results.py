"""MCP tool results <-> ``function_result`` results, both directions.

Client side (``from_mcp``): a ``CallToolResult`` becomes what the agentloop tool returns:

* ``structuredContent`` (when every content block is text, which then only repeats it) → the
  JSON object;
* text blocks only → their text (joined by blank lines);
* any image, audio or binary resource → a content list (text blocks kept in place);
  embedded text resources become text, resource links a line naming the link.

Server side (``to_mcp``): a ``function_result`` result (``str``, JSON object or content list)
becomes MCP content (plus ``structuredContent`` for an object).
"""

from __future__ import annotations

import json
from typing import Any

from agentloop.types import AudioContent, DocumentContent, ImageContent, TextContent

__all__ = ["error_text", "from_mcp", "to_mcp"]

_Block = TextContent | ImageContent | AudioContent | DocumentContent


def _text_of(block: Any) -> str | None:
    """The text of an MCP content block that is text-like, else None."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if isinstance(text, str):
            return text
        return None
    if kind == "resource_link":
        label = block.title or block.name
        described = f": {block.description}" if block.description else ""
        return f"Resource link {label!r} <{block.uri}>{described}"
    return None


def _media(block: Any) -> _Block:
    kind = getattr(block, "type", None)
    if kind == "image":
        return ImageContent(data=block.data, mime_type=block.mime_type)
    if kind == "audio":
        return AudioContent(data=block.data, mime_type=block.mime_type)
    if kind == "resource":
        resource = block.resource
        mime = getattr(resource, "mime_type", None) or "application/octet-stream"
        data = str(getattr(resource, "blob", ""))
        if mime.startswith("image/"):
            return ImageContent(data=data, mime_type=mime)
        if mime.startswith("audio/"):
            return AudioContent(data=data, mime_type=mime)
        return DocumentContent(data=data, mime_type=mime)
    return TextContent(text=f"[{kind or 'unknown'} content the client cannot show]")


def from_mcp(result: Any) -> str | dict[str, Any] | list[_Block]:
    """The tool return value for a successful MCP ``CallToolResult``."""
    texts = [_text_of(block) for block in result.content]
    structured = result.structured_content
    if all(t is not None for t in texts):
        if isinstance(structured, dict):
            return structured
        return "\n\n".join(t for t in texts if t is not None)
    return [
        TextContent(text=t) if t is not None else _media(block)
        for t, block in zip(texts, result.content, strict=True)
    ]


def error_text(result: Any) -> str:
    """The message of an ``isError`` result (what the model reads)."""
    parts = [t for t in (_text_of(block) for block in result.content) if t]
    if not parts and isinstance(result.structured_content, dict):
        parts = [json.dumps(result.structured_content, ensure_ascii=False)]
    return "\n\n".join(parts) or "The tool failed without a message."


def to_mcp(result: Any, is_error: bool) -> Any:
    """An MCP ``CallToolResult`` for an agentloop ``function_result`` result."""
    from mcp import types

    content: list[Any] = []
    structured: dict[str, Any] | None = None
    if isinstance(result, str):
        content.append(types.TextContent(type="text", text=result))
    elif isinstance(result, dict):
        structured = result
        text = json.dumps(result, ensure_ascii=False)
        content.append(types.TextContent(type="text", text=text))
    else:
        for block in result:
            if isinstance(block, TextContent):
                content.append(types.TextContent(type="text", text=block.text or ""))
            elif isinstance(block, ImageContent) and block.data:
                mime = block.mime_type or "image/png"
                content.append(types.ImageContent(type="image", data=block.data, mime_type=mime))
            elif isinstance(block, AudioContent) and block.data:
                mime = block.mime_type or "audio/wav"
                content.append(types.AudioContent(type="audio", data=block.data, mime_type=mime))
            elif getattr(block, "data", None):
                uri = f"agentloop://result/{len(content)}"
                blob = types.BlobResourceContents(
                    uri=uri,
                    blob=str(block.data),
                    mime_type=getattr(block, "mime_type", None) or "application/octet-stream",
                )
                content.append(types.EmbeddedResource(type="resource", resource=blob))
            elif getattr(block, "uri", None):
                content.append(types.TextContent(type="text", text=str(block.uri)))
    return types.CallToolResult(
        content=content, structured_content=None if is_error else structured, is_error=is_error
    )
