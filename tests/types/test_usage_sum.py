"""``Usage + Usage``: how a turn sums the usage of its model requests (field by field; the
first request's ``initial_input_tokens``; per-modality and per-tool counts merged)."""

from __future__ import annotations

import pytest

from agentloop.types import Usage, encode_step


def test_counts_are_summed_and_unset_fields_stay_unset() -> None:
    a = Usage(total_input_tokens=10, total_output_tokens=5, total_tokens=15)
    b = Usage(total_input_tokens=7, total_thought_tokens=2, total_tokens=9)
    total = a + b
    assert total == Usage(
        total_input_tokens=17,
        total_output_tokens=5,
        total_thought_tokens=2,
        total_tokens=24,
    )
    assert total.model_fields_set == {
        "total_input_tokens",
        "total_output_tokens",
        "total_thought_tokens",
        "total_tokens",
    }
    assert encode_step(total) == (
        b'{"total_input_tokens":17,"total_output_tokens":5,"total_thought_tokens":2,'
        b'"total_tokens":24}'
    )
    assert (Usage() + Usage()).model_fields_set == set()


def test_the_first_initial_input_tokens_is_kept() -> None:
    assert (Usage(initial_input_tokens=3) + Usage(initial_input_tokens=8)).initial_input_tokens == 3
    assert (Usage() + Usage(initial_input_tokens=8)).initial_input_tokens == 8
    assert (Usage() + Usage()).initial_input_tokens is None


def test_modalities_and_grounding_counts_are_merged() -> None:
    a = Usage.model_validate(
        {
            "input_tokens_by_modality": [{"modality": "text", "tokens": 5}],
            "grounding_tool_count": [{"type": "google_search", "count": 1}],
        }
    )
    b = Usage.model_validate(
        {
            "input_tokens_by_modality": [
                {"modality": "image", "tokens": 100},
                {"modality": "text", "tokens": 2},
            ],
            "output_tokens_by_modality": [{"modality": "text", "tokens": 4}],
            "grounding_tool_count": [{"type": "google_search", "count": 2}],
        }
    )
    total = (a + b).model_dump(mode="json")
    assert total == {
        "input_tokens_by_modality": [
            {"modality": "text", "tokens": 7},
            {"modality": "image", "tokens": 100},
        ],
        "output_tokens_by_modality": [{"modality": "text", "tokens": 4}],
        "grounding_tool_count": [{"type": "google_search", "count": 3}],
    }


def test_only_usages_add() -> None:
    with pytest.raises(TypeError):
        Usage() + 1  # type: ignore[operator]
