"""``agentloop models``: the model and agent ids agentloop knows (and the emulator accepts)."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_models_parser", "run_models"]


def add_models_parser(sub: Any) -> None:
    p = sub.add_parser(
        "models",
        help="list the known model and agent ids",
        description="The model ids (for --model) and agent ids (Conversation(agent=...)) of "
        "the Interactions API that agentloop knows; the emulator accepts exactly these. The "
        "real API may know more: any id can be passed.",
        epilog="examples:\n  agentloop models\n  agentloop models --json | jq '.models[0]'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print a JSON object instead of text")


def run_models(args: argparse.Namespace) -> int:
    from agentloop._defaults import DEFAULT_MODEL
    from agentloop.testing.tokens import KNOWN_AGENTS, KNOWN_MODELS

    models = sorted(KNOWN_MODELS, key=lambda m: (m != DEFAULT_MODEL, m))
    if args.json:
        data = {"default_model": DEFAULT_MODEL, "models": models, "agents": sorted(KNOWN_AGENTS)}
        print(json.dumps(data, indent=2))
        return 0
    print("models (--model ID):")
    for model in models:
        print(f"  {model}" + ("  (default)" if model == DEFAULT_MODEL else ""))
    print("agents (Conversation(agent=ID)):")
    for agent in sorted(KNOWN_AGENTS):
        print(f"  {agent}")
    return 0
