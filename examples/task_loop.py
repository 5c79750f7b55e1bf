"""An autonomous task loop: the agent calls tools until the task is done, within max_steps.

Progress is printed as it happens (model requests, tool calls, results); the loop stops when
the model answers without calling a tool, or raises ``MaxStepsExceeded``.
"""

import _backend

from agentloop import Conversation, ToolError, tool
from agentloop.errors import MaxStepsExceeded

INVENTORY = {"apples": 12, "pears": 0, "plums": 7}


@tool
def check_stock(item: str) -> dict:
    """Check how many units of an item are in stock.

    Args:
        item: The item to look up, e.g. "apples".
    """
    key = item.lower().strip()
    if key not in INVENTORY:
        raise ToolError(f"unknown item {item!r}; known items: {', '.join(INVENTORY)}")
    return {"item": key, "in_stock": INVENTORY[key]}


@tool
def reorder_item(item: str, quantity: int) -> str:
    """Place a reorder for an item that is running low.

    Args:
        item: The item to reorder.
        quantity: How many units to order.
    """
    return f"ordered {quantity} x {item}"


conv = Conversation(
    _backend.client(),
    model="gemini-3.5-flash",
    tools=[check_stock, reorder_item],
    system_instruction="You are a stock-keeping agent. Use the tools, then report briefly.",
    max_steps=8,
)

task = "Check the stock of Apples and Plums, then report what is running low."
print(f"Task: {task}")
requests = 0
try:
    for event in conv.stream(task):
        if event.type == "interaction_started":
            requests += 1
            print(f"[{requests}] asking the model")
        elif event.type == "tool_call_started":
            print(f"[{requests}] -> {event.call.name}({event.call.arguments})")
        elif event.type == "tool_call_finished":
            print(f"[{requests}] <- {event.result.result}")
        elif event.type == "turn_completed":
            turn = event.turn
except MaxStepsExceeded as exc:
    raise SystemExit(f"gave up: {exc}") from None

print(f"\nFinal answer ({turn.status}, {len(turn.tool_calls)} tool calls):")
print(turn.output_text)
