"""Usage and cost limits: ``UsageLimits``, the running ``UsageTotals`` and the sans-I/O guard.

A limit is checked twice around every model request of a turn:

* **before** the request: if it would *certainly* exceed a limit, it is not sent. "Certainly"
  uses lower bounds only: one more request, at least one output token, and at least the input
  tokens the server counted for the previous request (a request carries everything its
  predecessor did, unless the view was compacted since, when the bound is one token);
* **after** the response: the response is recorded (history, ``turn.usage``, ``conv.usage``);
  if a total now exceeds a limit, the turn ends.

Both raise ``agentloop.errors.UsageLimitExceeded``; the engine then answers every open call with
an error result, so the history stays usable.

Token figures come from the API's ``usage``: ``input_tokens`` is ``total_input_tokens``,
``output_tokens`` is ``total_output_tokens``, ``total_tokens`` is ``total_tokens`` (input,
output, thoughts and tool use; input + output when the API leaves it out). Cost is
``input_tokens x input price + (total_tokens - input_tokens) x output price`` per million
tokens: thinking and tool-use tokens are billed like output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentloop.errors import ConfigurationError, UsageLimitExceeded

__all__ = ["LimitGuard", "NestedGuard", "Price", "UsageLimits", "UsageTotals"]

Price = tuple[float, float]  # (input, output) per million tokens

_LIMITS = ("max_requests", "max_input_tokens", "max_output_tokens", "max_total_tokens", "max_cost")


@dataclass(frozen=True)
class UsageLimits:
    """Limits on model requests, tokens and cost.

    Given to ``Conversation(limits=...)`` they count over the conversation's life (the figures
    are ``conv.usage``); given to ``send(..., limits=...)`` they count over that turn. ``prices``
    maps a model (or agent) name to ``(input, output)`` prices per million tokens; ``max_cost``
    needs a price for the conversation's model, else it is refused up front.
    """

    max_requests: int | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    max_total_tokens: int | None = None
    max_cost: float | None = None
    prices: Mapping[str, Price] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _LIMITS:
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0
            ):
                raise ConfigurationError(
                    f"UsageLimits({name}={value!r}) must be a number, 0 or more (or None)"
                )
        if not isinstance(self.prices, Mapping):
            raise ConfigurationError(
                f"UsageLimits(prices=...) maps model names to (input, output) prices per "
                f"million tokens, e.g. {{'gemini-3.5-flash': (0.3, 2.5)}}; not {self.prices!r:.60}"
            )
        for model, price in self.prices.items():
            if (
                not isinstance(price, tuple)
                or len(price) != 2
                or not all(isinstance(p, (int, float)) and p >= 0 for p in price)
            ):
                raise ConfigurationError(
                    f"UsageLimits(prices={{{model!r}: {price!r}}}): a price is a tuple "
                    "(input, output) of non-negative prices per million tokens"
                )

    def check_priced(self, model: str | None) -> None:
        """Refuse a cost limit for a model without a price."""
        if self.max_cost is not None and (model is None or model not in self.prices):
            known = ", ".join(sorted(self.prices)) or "none"
            raise ConfigurationError(
                f"UsageLimits(max_cost={self.max_cost}) needs the price of {model!r} to count "
                f"cost, and prices has none (priced: {known}); add "
                f"prices={{{model!r}: (input_per_million, output_per_million)}}"
            )


def cost_of(price: Price | None, input_tokens: int, total_tokens: int) -> float | None:
    if price is None:
        return None
    return (input_tokens * price[0] + max(total_tokens - input_tokens, 0) * price[1]) / 1e6


def price_of(usage: Any, price: Price | None) -> float | None:
    """The cost of one request's ``usage`` (``None`` without a price or a usage)."""
    if usage is None or price is None:
        return None
    tokens_in = usage.total_input_tokens or 0
    total = usage.total_tokens
    if total is None:
        total = tokens_in + (usage.total_output_tokens or 0)
    return cost_of(price, tokens_in, total)


@dataclass(slots=True)
class UsageTotals:
    """Running totals: model requests, tokens and cost (``None`` while nothing was priced)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None

    def record(self, usage: Any, price: Price | None) -> float | None:
        """Count one model request with its ``usage`` (may be ``None``); returns its cost."""
        self.requests += 1
        if usage is None:
            return None
        tokens_in = usage.total_input_tokens or 0
        tokens_out = usage.total_output_tokens or 0
        total = usage.total_tokens
        if total is None:
            total = tokens_in + tokens_out
        self.input_tokens += tokens_in
        self.output_tokens += tokens_out
        self.total_tokens += total
        cost = cost_of(price, tokens_in, total)
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost
        return cost

    def replay(self, record: dict[str, Any]) -> None:
        """Count a journaled ``usage`` record (written by ``ConversationState.count_usage``)."""
        from agentloop.types import Usage

        usage = record.get("usage")
        self.record(Usage.model_validate(usage) if usage else None, None)
        cost = record.get("cost")
        if cost is not None:
            self.cost = (self.cost or 0.0) + float(cost)

    def to_wire(self) -> dict[str, Any]:
        """A JSON-ready dict (how saved conversations keep the totals)."""
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost": self.cost,
        }

    @classmethod
    def from_wire(cls, data: Any) -> UsageTotals:
        """The totals of a ``to_wire`` dict (zeros for anything else)."""
        if not isinstance(data, dict):
            return cls()
        cost = data.get("cost")
        return cls(
            requests=int(data.get("requests", 0)),
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
            total_tokens=int(data.get("total_tokens", 0)),
            cost=float(cost) if cost is not None else None,
        )

    def __str__(self) -> str:
        cost = f", cost {self.cost:.4f}" if self.cost is not None else ""
        return (
            f"{self.requests} requests, {self.input_tokens} input + {self.output_tokens} output "
            f"tokens ({self.total_tokens} total){cost}"
        )


class LimitGuard:
    """Checks the conversation's and the turn's limits around each request (sans-I/O)."""

    __slots__ = ("_active", "price", "turn_totals")

    def __init__(
        self,
        conversation: UsageLimits | None,
        turn: UsageLimits | None,
        price_key: str | None,
    ) -> None:
        prices: dict[str, Price] = {}
        for limits in (conversation, turn):
            if limits is not None:
                limits.check_priced(price_key)
                prices.update(limits.prices)
        self.price = prices.get(price_key) if price_key is not None else None
        self.turn_totals = UsageTotals()
        # (scope, totals or None for the conversation's, [(limit name, maximum)]) per scope
        self._active: list[tuple[str, UsageTotals | None, list[tuple[str, float]]]] = []
        for scope, limits, totals in (
            ("conversation", conversation, None),
            ("turn", turn, self.turn_totals),
        ):
            if limits is not None:
                named = [(n, getattr(limits, n)) for n in _LIMITS if getattr(limits, n) is not None]
                if named:
                    self._active.append((scope, totals, named))

    def before_request(self, conv_totals: UsageTotals, min_input: int) -> None:
        """Raise (without a turn) if the next request would certainly exceed a limit."""
        tokens_in = max(min_input, 1)
        for scope, own, named in self._active:
            totals = own if own is not None else conv_totals
            for name, maximum in named:
                if name == "max_requests":
                    value: float = totals.requests + 1
                elif name == "max_input_tokens":
                    value = totals.input_tokens + tokens_in
                elif name == "max_output_tokens":
                    value = totals.output_tokens + 1
                elif name == "max_total_tokens":
                    value = totals.total_tokens + tokens_in + 1
                else:
                    cost = cost_of(self.price, tokens_in, tokens_in + 1) or 0.0
                    value = (totals.cost or 0.0) + cost
                if value > maximum:
                    raise _exceeded(name, value, maximum, scope, before=True)

    def record(self, usage: Any) -> None:
        self.turn_totals.record(usage, self.price)

    def after_response(self, conv_totals: UsageTotals) -> None:
        """Raise (without a turn) if a total now exceeds a limit."""
        for scope, own, named in self._active:
            totals = own if own is not None else conv_totals
            for name, maximum in named:
                value = (totals.cost or 0.0) if name == "max_cost" else _FIGURE[name](totals)
                if value > maximum:
                    raise _exceeded(name, value, maximum, scope, before=False)


class NestedGuard:
    """A sub-agent's guard: its own limits, and its parent's (the parent's totals already
    count the sub-agent's requests, so the parent's limits hold across the whole tree)."""

    __slots__ = ("own", "parent", "parent_totals", "price")

    def __init__(
        self, own: LimitGuard | None, parent: LimitGuard | None, parent_totals: UsageTotals
    ) -> None:
        self.own = own
        self.parent = parent
        self.parent_totals = parent_totals
        self.price = own.price if own is not None else parent.price if parent else None

    def before_request(self, conv_totals: UsageTotals, min_input: int) -> None:
        if self.own is not None:
            self.own.before_request(conv_totals, min_input)
        if self.parent is not None:
            self.parent.before_request(self.parent_totals, min_input)

    def record(self, usage: Any) -> None:
        if self.own is not None:
            self.own.record(usage)
        if self.parent is not None:
            self.parent.record(usage)

    def after_response(self, conv_totals: UsageTotals) -> None:
        if self.own is not None:
            self.own.after_response(conv_totals)
        if self.parent is not None:
            self.parent.after_response(self.parent_totals)


_FIGURE: dict[str, Callable[[UsageTotals], int]] = {
    "max_requests": lambda t: t.requests,
    "max_input_tokens": lambda t: t.input_tokens,
    "max_output_tokens": lambda t: t.output_tokens,
    "max_total_tokens": lambda t: t.total_tokens,
}


def _exceeded(
    name: str, value: float, maximum: float, scope: str, *, before: bool
) -> UsageLimitExceeded:
    what = {
        "max_requests": "model requests",
        "max_input_tokens": "input tokens",
        "max_output_tokens": "output tokens",
        "max_total_tokens": "tokens",
        "max_cost": "cost",
    }[name]
    shown = f"{value:.6g}" if name == "max_cost" else str(int(value))
    if before:
        how = (
            f"the next request would bring the {scope}'s {what} to at least {shown}, over "
            f"{name}={maximum:g}, so it was not sent"
        )
    else:
        how = (
            f"the last response brought the {scope}'s {what} to {shown}, over "
            f"{name}={maximum:g}; it is recorded in history and the turn stopped"
        )
    return UsageLimitExceeded(
        f"usage limit reached: {how}. The history stays usable (open calls were answered with "
        "an error result); raise the limit or pass new limits to continue",
        None,
        name,
        float(value),
        float(maximum),
    )
