"""Evals: measure an agent on a dataset, on pydantic-evals (``pip install 'agentloop[evals]'``).

pydantic-evals supplies ``Dataset``, ``Case``, its evaluators, reports and the YAML/JSON
dataset files; agentloop adds the task adapter (an ``Agent``, a conversation factory or any
callable, each case in a fresh conversation), evaluators that read the agent's history
(``ToolCalled``, ``ToolTrajectory``, ``NoToolErrors``, ``MaxRequests``, ``MaxTokens``,
``OutputMatches``), an LLM ``Judge`` on the Interactions API, pass rates, baselines and
``agentloop eval``.

    >>> from agentloop.evals import evaluate, load_dataset
    >>> result = evaluate(load_dataset("weather.yaml"), agent, client=client)
    >>> result.pass_rate
"""

from __future__ import annotations

try:
    import pydantic_evals  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    from agentloop.errors import ConfigurationError

    raise ConfigurationError(
        f"agentloop.evals needs pydantic-evals ({exc.name} is missing): "
        "pip install 'agentloop[evals]'"
    ) from None

# pydantic-evals' own, re-exported for convenience (documented there, not in agentloop's API).
from pydantic_evals import Case as Case
from pydantic_evals import Dataset as Dataset

from ._dataset import EVALUATORS, load_dataset, registry
from ._evaluate import (
    CaseResult,
    Comparison,
    EvalResult,
    aevaluate,
    cassette_files,
    evaluate,
    read_results,
)
from ._evaluators import (
    MaxRequests,
    MaxTokens,
    NoToolErrors,
    OutputMatches,
    ToolCalled,
    ToolTrajectory,
)
from ._export import export_case
from ._judge import Grading, Judge
from ._run import CaseRun, agent_task, case_run

__all__ = [
    "EVALUATORS",
    "CaseResult",
    "CaseRun",
    "Comparison",
    "EvalResult",
    "Grading",
    "Judge",
    "MaxRequests",
    "MaxTokens",
    "NoToolErrors",
    "OutputMatches",
    "ToolCalled",
    "ToolTrajectory",
    "aevaluate",
    "agent_task",
    "case_run",
    "cassette_files",
    "evaluate",
    "export_case",
    "load_dataset",
    "read_results",
    "registry",
]
