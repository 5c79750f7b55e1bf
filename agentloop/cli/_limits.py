"""Long-loop flags shared by ``run`` and ``chat``: compaction, token and cost limits."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import UsageError

__all__ = ["add_long_loop_flags", "long_loop_settings", "usage_line"]


def add_long_loop_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--compact-at",
        type=int,
        metavar="TOKENS",
        default=None,
        help="compact the history sent to the model when a request would exceed TOKENS "
        "input tokens (older steps are dropped from the request; the session keeps them)",
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        metavar="N",
        default=None,
        help="stop when the session has used N tokens (input + output) in total",
    )
    parser.add_argument(
        "--max-cost",
        type=float,
        metavar="AMOUNT",
        default=None,
        help="stop when the session's cost would exceed AMOUNT (needs --price)",
    )
    parser.add_argument(
        "--price",
        metavar="IN,OUT",
        default=None,
        help="the model's price per million input and output tokens, e.g. 0.3,2.5 "
        "(counts cost for --max-cost and /usage)",
    )


def long_loop_settings(args: argparse.Namespace, model: str | None) -> dict[str, Any]:
    """``compaction=`` and ``limits=`` for ``Conversation`` from the flags (only those given)."""
    from agentloop import Compaction, UsageLimits

    settings: dict[str, Any] = {}
    compact_at = getattr(args, "compact_at", None)
    if compact_at is not None:
        if compact_at < 1:
            raise UsageError(f"--compact-at must be a positive number of tokens, got {compact_at}")
        settings["compaction"] = Compaction(trigger_tokens=compact_at)
    max_tokens = getattr(args, "max_tokens", None)
    max_cost = getattr(args, "max_cost", None)
    price_text = getattr(args, "price", None)
    if max_tokens is not None and max_tokens < 1:
        raise UsageError(f"--max-tokens must be at least 1, got {max_tokens}")
    if max_cost is not None and max_cost <= 0:
        raise UsageError(f"--max-cost must be more than 0, got {max_cost}")
    prices: dict[str, tuple[float, float]] = {}
    if price_text is not None:
        try:
            low, high = (float(p) for p in price_text.split(","))
        except ValueError:
            raise UsageError(
                f"--price takes two numbers, input and output per million tokens "
                f"(e.g. 0.3,2.5), got {price_text!r}"
            ) from None
        if low < 0 or high < 0:
            raise UsageError(f"--price must not be negative, got {price_text!r}")
        if model is not None:
            prices[model] = (low, high)
    if max_cost is not None and not prices:
        raise UsageError(
            "--max-cost needs the model's price: add --price IN,OUT (per million input and "
            "output tokens)"
        )
    if max_tokens is not None or max_cost is not None or prices:
        settings["limits"] = UsageLimits(
            max_total_tokens=max_tokens, max_cost=max_cost, prices=prices
        )
    return settings


def usage_line(conv: Any) -> str:
    """``/usage``: tokens and cost so far."""
    usage = conv.usage
    cost = f"; cost {usage.cost:.4f}" if usage.cost is not None else "; cost unknown (no --price)"
    return (
        f"usage so far: {usage.requests} model requests, {usage.input_tokens} input + "
        f"{usage.output_tokens} output tokens ({usage.total_tokens} total){cost}"
    )
