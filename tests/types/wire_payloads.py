"""A broad table of wire payloads, by kind, used to check agentloop.types against the SDK."""

from __future__ import annotations

from typing import Any

TEXT = {"type": "text", "text": "Hello"}
CITED = {
    "type": "text",
    "text": "Paris is the capital.",
    "annotations": [
        {
            "type": "url_citation",
            "url": "https://x.fr",
            "title": "X",
            "start_index": 0,
            "end_index": 5,
        },
        {
            "type": "file_citation",
            "document_uri": "files/a",
            "file_name": "a.pdf",
            "source": "s",
            "media_id": "m",
            "page_number": 3,
            "custom_metadata": {"k": [1]},
            "start_index": 1,
            "end_index": 2,
        },
        {
            "type": "place_citation",
            "place_id": "places/1",
            "name": "Cafe",
            "url": "u",
            "review_snippets": [{"review_id": "r", "title": "t", "url": "u"}],
            "start_index": 0,
            "end_index": 1,
        },
        {
            "type": "speech_metadata",
            "speaker": "A",
            "style": "calm",
            "start_index": 0,
            "end_index": 3,
        },
        {
            "type": "word_info",
            "text": "Paris",
            "start_offset": "0.1s",
            "end_offset": "0.5s",
            "speaker": "A",
            "start_index": 0,
            "end_index": 5,
        },
        {"type": "future_citation", "anything": {"nested": True}},
    ],
}
IMAGE = {"type": "image", "data": "iVBORw0KGgo=", "mime_type": "image/png", "resolution": "high"}
IMAGE_URI = {"type": "image", "uri": "files/abc", "mime_type": "image/jpeg"}
AUDIO = {
    "type": "audio",
    "data": "UklGRg==",
    "mime_type": "audio/wav",
    "channels": 1,
    "sample_rate": 24000,
}
VIDEO = {
    "type": "video",
    "uri": "gs://b/v.mp4",
    "mime_type": "video/mp4",
    "resolution": "low",
    "processing": {"type": "static", "fps": 2.0, "start_offset": "1s", "end_offset": "9s"},
}
VIDEO_AGENTIC = {"type": "video", "uri": "files/v", "processing": "agentic"}
DOCUMENT = {"type": "document", "uri": "files/doc", "mime_type": "application/pdf"}
UNKNOWN_CONTENT = {"type": "hologram", "frames": [1, 2], "meta": {"fps": 3}}
TEXT_EXTRA = {"type": "text", "text": "x", "future_field": {"a": None, "b": [1, "2"]}}

CONTENT: list[dict[str, Any]] = [
    TEXT,
    CITED,
    IMAGE,
    IMAGE_URI,
    AUDIO,
    VIDEO,
    VIDEO_AGENTIC,
    DOCUMENT,
    UNKNOWN_CONTENT,
    TEXT_EXTRA,
]

ANNOTATIONS: list[dict[str, Any]] = CITED["annotations"]  # type: ignore[assignment]

STEPS: list[dict[str, Any]] = [
    {"type": "user_input", "content": [TEXT, IMAGE_URI]},
    {"type": "user_input", "content": [UNKNOWN_CONTENT]},
    {"type": "model_output", "content": [CITED, IMAGE]},
    {
        "type": "model_output",
        "error": {"code": 13, "message": "internal", "details": [{"@type": "x"}]},
    },
    {
        "type": "thought",
        "signature": "RXZFRkN1NEY=",
        "summary": [{"type": "text", "text": "plan"}, IMAGE],
    },
    {"type": "thought", "signature": "c2ln"},
    {
        "type": "function_call",
        "id": "call_1",
        "name": "get_weather",
        "arguments": {"location": "London", "units": ["c"], "deep": {"x": None}},
    },
    {
        "type": "function_result",
        "call_id": "call_1",
        "name": "get_weather",
        "result": [{"type": "text", "text": '{"temperature":"22"}'}],
    },
    {"type": "function_result", "call_id": "call_1", "result": "Sunny", "is_error": False},
    {
        "type": "function_result",
        "call_id": "call_1",
        "result": {"temp": 22, "ok": True},
        "is_error": True,
    },
    {
        "type": "code_execution_call",
        "id": "ce1",
        "arguments": {"code": "print(1)", "language": "python"},
        "signature": "cw==",
    },
    {"type": "code_execution_result", "call_id": "ce1", "result": "1\n", "is_error": False},
    {
        "type": "google_search_call",
        "id": "gs1",
        "arguments": {"queries": ["a", "b"]},
        "search_type": "web_search",
    },
    {
        "type": "google_search_result",
        "call_id": "gs1",
        "result": [{"search_suggestions": "<div>x</div>"}],
    },
    {"type": "url_context_call", "id": "u1", "arguments": {"urls": ["https://a.b"]}},
    {
        "type": "url_context_result",
        "call_id": "u1",
        "result": [{"url": "https://a.b", "status": "success"}, {"url": "c", "status": "paywall"}],
    },
    {"type": "google_maps_call", "id": "m1", "arguments": {"queries": ["cafe"]}},
    {
        "type": "google_maps_result",
        "call_id": "m1",
        "result": [
            {
                "places": [
                    {
                        "place_id": "p",
                        "name": "n",
                        "url": "u",
                        "review_snippets": [{"review_id": "r"}],
                    }
                ],
                "widget_context_token": "w",
            }
        ],
    },
    {"type": "file_search_call", "id": "f1", "signature": "cw=="},
    {"type": "file_search_result", "call_id": "f1"},
    {
        "type": "mcp_server_tool_call",
        "id": "mc1",
        "name": "roll",
        "server_name": "dice",
        "arguments": {"sides": 6},
    },
    {
        "type": "mcp_server_tool_result",
        "call_id": "mc1",
        "name": "roll",
        "server_name": "dice",
        "result": "4",
    },
    {
        "type": "retrieval_call",
        "id": "r1",
        "arguments": {"queries": ["q"]},
        "retrieval_type": "rag_store",
    },
    {"type": "retrieval_result", "call_id": "r1", "is_error": False},
    {"type": "processing_call", "id": "pc1"},
    {"type": "processing_result", "call_id": "pc1", "signature": "cw=="},
    {"type": "teleport_call", "id": "t1", "target": {"x": 1}},
    {"type": "function_call", "id": "c2", "name": "f", "arguments": {}, "new_key": "kept"},
]

DELTAS: list[dict[str, Any]] = [
    {"type": "text", "text": "AI "},
    {"type": "image", "data": "AAAA", "mime_type": "image/png"},
    {
        "type": "audio",
        "data": "AAAA",
        "mime_type": "audio/l16",
        "sample_rate": 24000,
        "channels": 1,
    },
    {"type": "video", "uri": "files/v", "mime_type": "video/mp4"},
    {"type": "document", "uri": "files/d", "mime_type": "application/pdf"},
    {"type": "text_annotation_delta", "annotations": [ANNOTATIONS[0]]},
    {"type": "thought_signature", "signature": "EvEFCu4F"},
    {"type": "thought_summary", "content": {"type": "text", "text": "thinking"}},
    {"type": "arguments_delta", "arguments": '{"loc'},
    {"type": "function_result", "result": "ok", "name": "f", "is_error": False},
    {"type": "code_execution_call", "arguments": {"code": "1+1"}, "signature": "cw=="},
    {"type": "code_execution_result", "result": "2", "is_error": False},
    {"type": "google_search_call", "arguments": {"queries": ["q"]}},
    {"type": "google_search_result", "result": [{"search_suggestions": "s"}]},
    {"type": "url_context_call", "arguments": {"urls": ["u"]}},
    {"type": "url_context_result", "result": [{"url": "u", "status": "error"}]},
    {"type": "google_maps_call", "arguments": {"queries": ["q"]}},
    {"type": "google_maps_result", "result": [{"places": [{"name": "n"}]}]},
    {"type": "file_search_call", "signature": "cw=="},
    {"type": "file_search_result", "result": [{"anything": 1}]},
    {"type": "mcp_server_tool_call", "name": "n", "server_name": "s", "arguments": {"a": 1}},
    {"type": "mcp_server_tool_result", "result": {"x": 1}, "name": "n", "server_name": "s"},
    {"type": "retrieval_call", "arguments": {"queries": ["q"]}, "retrieval_type": "rag_store"},
    {"type": "retrieval_result", "is_error": True},
    {"type": "processing_call", "signature": "cw=="},
    {"type": "processing_result"},
    {"type": "sparkle_delta", "sparkles": 3},
]

USAGE = {
    "total_input_tokens": 10,
    "total_output_tokens": 5,
    "total_thought_tokens": 2,
    "total_cached_tokens": 1,
    "total_tool_use_tokens": 0,
    "total_tokens": 17,
    "input_tokens_by_modality": [{"modality": "text", "tokens": 10}],
    "output_tokens_by_modality": [{"modality": "image", "tokens": 5}],
    "cached_tokens_by_modality": [{"modality": "text", "tokens": 1}],
    "tool_use_tokens_by_modality": [{"modality": "audio", "tokens": 0}],
    "grounding_tool_count": [{"type": "google_search", "count": 2}],
}

EVENTS: list[dict[str, Any]] = [
    {
        "event_type": "interaction.created",
        "interaction": {
            "id": "v1_Chd",
            "status": "in_progress",
            "model": "gemini-3.5-flash",
            "object": "interaction",
            "created": "2026-05-20T10:00:00Z",
        },
        "event_id": "e1",
    },
    {
        "event_type": "interaction.status_update",
        "interaction_id": "v1_Chd",
        "status": "in_progress",
        "continuation_token": "tok",
        "event_id": "e2",
    },
    {"event_type": "step.start", "index": 0, "step": {"type": "thought"}, "event_id": "e3"},
    {
        "event_type": "step.start",
        "index": 1,
        "step": {"type": "function_call", "id": "c1", "name": "f", "arguments": {}},
    },
    {"event_type": "step.start", "index": 2, "step": {"type": "brand_new_step", "q": 1}},
    *[{"event_type": "step.delta", "index": 1, "delta": d} for d in DELTAS],
    {
        "event_type": "step.delta",
        "index": 1,
        "delta": {"type": "text", "text": "x"},
        "metadata": {"total_usage": {"total_tokens": 3}},
        "event_id": "e9",
    },
    {"event_type": "step.stop", "index": 1, "event_id": "e10"},
    {
        "event_type": "step.stop",
        "index": 1,
        "usage": {"total_tokens": 3},
        "step_usage": {"total_output_tokens": 1},
    },
    {
        "event_type": "interaction.completed",
        "interaction": {"id": "v1_Chd", "status": "completed", "usage": USAGE},
        "event_id": "e11",
    },
    {
        "event_type": "interaction.completed",
        "interaction": {
            "id": "v1_Chd",
            "status": "requires_continuation",
            "continuation_token": "tok2",
        },
    },
    {
        "event_type": "error",
        "error": {"code": "internal", "message": "model crashed"},
        "event_id": "e12",
    },
    {"event_type": "error"},
    {"event_type": "interaction.time_travel", "payload": {"a": 1}, "event_id": "e13"},
    {"event_type": "step.stop", "index": 0, "unknown_extra": [1]},
]

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
    {"type": "function", "name": "noargs"},
    {"type": "google_search", "search_types": ["web_search", "image_search"]},
    {"type": "code_execution"},
    {"type": "url_context"},
    {
        "type": "file_search",
        "file_search_store_names": ["fileSearchStores/a"],
        "metadata_filter": "year > 2020",
        "top_k": 5,
    },
    {"type": "google_maps", "enable_widget": True, "latitude": 48.8, "longitude": 2.3},
    {
        "type": "computer_use",
        "environment": "browser",
        "excluded_predefined_functions": ["drag"],
        "disabled_safety_policies": ["financial_transactions"],
        "enable_prompt_injection_detection": True,
    },
    {
        "type": "mcp_server",
        "name": "dice",
        "url": "https://mcp.example/",
        "headers": {"Authorization": "Bearer t"},
        "allowed_tools": [{"mode": "auto", "tools": ["roll"]}],
    },
    {
        "type": "retrieval",
        "retrieval_types": ["vertex_ai_search"],
        "vertex_ai_search_config": {"engine": "e", "datastores": ["d"]},
    },
    {
        "type": "retrieval",
        "retrieval_types": ["rag_store"],
        "rag_store_config": {"rag_resources": [{"rag_corpus": "c", "rag_file_ids": ["f"]}]},
    },
    {"type": "retrieval", "exa_ai_search_config": {"api_key": "k", "custom_config": {"a": 1}}},
    {"type": "quantum_oracle", "qubits": 7},
]

GENERATION_CONFIGS: list[dict[str, Any]] = [
    {
        "max_output_tokens": 100,
        "thinking_level": "low",
        "thinking_summaries": "auto",
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 7,
        "stop_sequences": ["END"],
    },
    {"tool_choice": "any"},
    {"tool_choice": {"allowed_tools": {"mode": "validated", "tools": ["f"]}}},
    {"speech_config": [{"voice": "Kore", "speaker": "A", "language": "en-US"}]},
    {"speech_config": {"speakers": [{"voice": "Puck", "speaker": "B"}]}},
    {
        "transcription_config": {
            "language_codes": ["en"],
            "custom_vocabulary": ["agentloop"],
            "mode": "verbatim",
        }
    },
    {"video_config": {"task": "text_to_video"}},
    {"image_config": {"aspect_ratio": "16:9", "image_size": "2K"}},
    {"thinking_level": "ultra_new_level", "future": 1},
]

RESPONSE_FORMATS: list[dict[str, Any]] = [
    {
        "type": "text",
        "mime_type": "application/json",
        "schema": {"type": "object", "properties": {"a": {"type": "integer"}}},
    },
    {"type": "text", "mime_type": "text/plain"},
    {
        "type": "image",
        "mime_type": "image/jpeg",
        "aspect_ratio": "1:1",
        "image_size": "1K",
        "delivery": "inline",
    },
    {"type": "audio", "mime_type": "audio/mp3", "sample_rate": 24000, "bit_rate": 64000},
    {"type": "video", "aspect_ratio": "16:9", "resolution": "720p", "duration": "8s"},
]

AGENT_CONFIGS: list[dict[str, Any]] = [
    {
        "type": "deep-research",
        "thinking_summaries": "auto",
        "visualization": "auto",
        "collaborative_planning": True,
        "enable_bigquery_tool": False,
    },
    {"type": "antigravity", "model": "gemini-3.5-flash", "max_total_tokens": "100000"},
    {
        "type": "code-mender",
        "model": "m",
        "session_id": "s",
        "session_config": {"max_rounds": 3},
        "find_request": {"mode": "scan", "description": "d", "source_files": []},
    },
    {"type": "dynamic", "anything": {"goes": True}},
    {"type": "future-agent", "x": 1},
]

INTERACTIONS: list[dict[str, Any]] = [
    {
        "id": "v1_ChdpQUFv",
        "object": "interaction",
        "status": "completed",
        "model": "gemini-3.5-flash",
        "created": "2026-05-20T10:00:00Z",
        "updated": "2026-05-20T10:00:01Z",
        "steps": STEPS,
        "usage": USAGE,
        "previous_interaction_id": "v1_prev",
        "service_tier": "standard",
    },
    {"id": "bg1", "object": "interaction", "status": "in_progress", "model": "m"},
    {
        "id": "a1",
        "status": "requires_action",
        "agent": "deep-research-preview-04-2026",
        "agent_config": AGENT_CONFIGS[0],
        "environment_id": "env1",
        "environment": "remote",
    },
    {"id": "c1", "status": "requires_continuation", "continuation_token": "tok"},
    {"id": "f1", "status": "failed", "errors": [{"code": "internal", "message": "boom"}]},
    {
        "id": "e1",
        "status": "completed",
        "system_instruction": "Be brief.",
        "tools": TOOLS,
        "generation_config": GENERATION_CONFIGS[0],
        "response_format": RESPONSE_FORMATS[0],
        "response_modalities": ["text", "image"],
        "response_mime_type": "application/json",
        "safety_settings": [
            {"type": "hate_speech", "threshold": "block_none", "method": "severity"}
        ],
        "labels": {"team": "ai"},
        "webhook_config": {"uris": ["https://h"], "user_metadata": {"k": "v"}},
    },
    {"id": "e2", "status": "completed", "response_format": RESPONSE_FORMATS[:3]},
    {"id": "x1", "status": "some_future_status", "brand_new_top_level": {"k": [1]}},
    {"id": "i1", "status": "completed", "input": "Hello"},
    {"id": "i2", "status": "completed", "input": [{"type": "user_input", "content": [TEXT]}]},
]

SAFETY_SETTINGS: list[dict[str, Any]] = [
    {"type": "hate_speech", "threshold": "block_none"},
    {"type": "dangerous_content", "threshold": "block_only_high", "method": "probability"},
]

ENVIRONMENTS: list[dict[str, Any]] = [
    {"type": "remote", "environment_id": "env1"},
    {
        "type": "remote",
        "sources": [{"type": "inline", "target": "a.py", "content": "print()"}],
        "env": {"A": "1", "B": {"value": "2"}},
        "network": "disabled",
    },
]

WEBHOOK_CONFIGS: list[dict[str, Any]] = [
    {"uris": ["https://hook.example/a"], "user_metadata": {"run": 1}},
]

THOUGHT_SUMMARIES: list[dict[str, Any]] = [TEXT, IMAGE, {"type": "sketch", "lines": 2}]
