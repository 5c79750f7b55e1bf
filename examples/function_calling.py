"""Function calling with a Conversation: agentloop runs the tool loop, in either strategy.

The seed guide writes the loop by hand (call, run the function, send the result back, repeat);
``Conversation.send`` does exactly that, for the stateful and the stateless strategy.
"""

import _backend

from agentloop import Conversation, tool


@tool
def get_current_temperature(location: str) -> dict:
    """Gets the current temperature for a given location.

    Args:
        location: The city name, e.g. San Francisco
    """
    return {"location": location, "temperature": "22", "unit": "celsius"}


client = _backend.client()

for strategy in ("stateful", "stateless"):
    conv = Conversation(
        client, model="gemini-3.5-flash", tools=[get_current_temperature], strategy=strategy
    )
    turn = conv.send("What is the temperature in London?")
    print(f"[{strategy}]")
    for call in turn.tool_calls:
        print(f"  Called {call.name}({call.arguments}) -> {call.result.result}")
    print(f"  {turn.output_text}")
    print(f"  ({turn.model_requests} requests, {len(conv.history)} steps of history)")
