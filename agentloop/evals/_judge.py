"""``Judge``: an LLM judge that runs through agentloop on the Interactions API.

pydantic-evals' ``LLMJudge`` needs a pydantic-ai model; ``Judge`` asks a Gemini model (or any
model the client reaches, the emulator's scripted models included) through an agentloop
conversation with a structured ``response_model``, and reports a pass (an assertion, with the
judge's reason) and a score.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_evals.evaluators import EvaluationReason, Evaluator, EvaluatorContext

from agentloop.errors import EvalError

from ._run import case_run

__all__ = ["JUDGE_CLIENT", "Grading", "Judge"]

JUDGE_CLIENT: ContextVar[Any] = ContextVar("agentloop_judge_client", default=None)
"""The client ``Judge`` uses when it has none of its own (set by ``evaluate(judge_client=)``)."""

SYSTEM = (
    "You grade the work of an AI agent against a rubric. Read the task input, the tool calls "
    "the agent made and its final output, then judge whether the output satisfies the rubric. "
    "Answer in JSON with: reason (one or two sentences), pass (true or false) and score "
    "(a number from 0.0, not at all, to 1.0, fully)."
)


class Grading(BaseModel):
    """What the judge model answers: a reason, a pass and a score from 0 to 1."""

    model_config = ConfigDict(populate_by_name=True)

    reason: str = Field(description="One or two sentences explaining the verdict.")
    passed: bool = Field(alias="pass", description="Whether the output satisfies the rubric.")
    score: float = Field(ge=0.0, le=1.0, description="How well the rubric is met, 0.0 to 1.0.")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        value = dump(mode="json")
    return json.dumps(value, ensure_ascii=False, default=str)


def prompt(rubric: str, ctx: EvaluatorContext[object, object, object], include_input: bool) -> str:
    """The judge's user message: input, tool calls, output and rubric in tagged sections."""
    run = case_run(ctx)
    parts = []
    if include_input:
        parts.append(f"<Input>\n{_text(ctx.inputs)}\n</Input>")
    if run is not None and run.tool_calls:
        calls = "\n".join(
            f"- {c.name}({json.dumps(c.arguments, sort_keys=True, default=str)})"
            + (" -> error" if c.is_error else "")
            for c in run.tool_calls
        )
        parts.append(f"<ToolCalls>\n{calls}\n</ToolCalls>")
    output = run.output_text if run is not None else _text(ctx.output)
    parts.append(f"<Output>\n{output}\n</Output>")
    parts.append(f"<Rubric>\n{rubric}\n</Rubric>")
    return "\n".join(parts)


async def grade(client: Any, model: str | None, message: str) -> Grading:
    """Ask the judge model through an agentloop conversation; its answer parsed as ``Grading``."""
    from agentloop._defaults import DEFAULT_MODEL
    from agentloop.client import Client
    from agentloop.loop import AsyncConversation, Conversation

    settings: dict[str, Any] = {
        "model": model or DEFAULT_MODEL,
        "system_instruction": SYSTEM,
        "response_model": Grading,
        "name": "judge",
    }
    if isinstance(client, Client):
        import anyio.to_thread

        def run() -> Any:
            with Conversation(client, **settings) as conv:
                return conv.send(message).output

        output = await anyio.to_thread.run_sync(run)
    elif client is None:  # one of its own, from GEMINI_API_KEY, closed once it answered
        from agentloop.client import AsyncClient

        async with AsyncClient() as own, AsyncConversation(own, **settings) as aconv:
            output = (await aconv.send(message)).output
    else:
        async with AsyncConversation(client, **settings) as aconv:
            output = (await aconv.send(message)).output
    if not isinstance(output, Grading):
        raise EvalError(f"the judge model's answer is not a grading: {output!r}")
    return output


@dataclass(repr=False)
class Judge(Evaluator[object, object, object]):
    """An LLM judge: asks ``model`` (default: agentloop's default model) whether the output
    meets ``rubric``.

    Reports ``Judge`` (pass/fail, with the judge's reason) and ``Judge_score`` (0 to 1). The
    judge runs on ``client`` when given, else on the client ``evaluate`` was given (its
    ``judge_client``), else on ``AsyncClient()`` from ``GEMINI_API_KEY``. ``include_input``
    shows the judge the case's input as well as the tool calls and output.
    """

    rubric: str
    model: str | None = None
    include_input: bool = True
    client: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.rubric, str) or not self.rubric.strip():
            raise EvalError(f"Judge needs a rubric (a non-empty string), not {self.rubric!r}")
        if self.model is not None and not isinstance(self.model, str):
            raise EvalError(f"Judge model must be a model id string, not {self.model!r}")

    def build_serialization_arguments(self) -> dict[str, Any]:
        """The dataset-file arguments (the client is not one)."""
        args = super().build_serialization_arguments()
        args.pop("client", None)
        return args

    async def evaluate(self, ctx: EvaluatorContext[object, object, object]) -> dict[str, Any]:
        """Ask the judge model; ``Judge`` (pass, with the reason) and ``Judge_score``."""
        client = self.client if self.client is not None else JUDGE_CLIENT.get()
        grading = await grade(client, self.model, prompt(self.rubric, ctx, self.include_input))
        name = self.get_default_evaluation_name()
        return {
            name: EvaluationReason(grading.passed, grading.reason),
            f"{name}_score": EvaluationReason(float(grading.score), grading.reason),
        }
