"""A chatbot: a Conversation that streams its answers and can call a tool.

Type messages (or pipe them in, one per line); ``/stateless`` and ``/stateful`` switch the
strategy mid-conversation, the history carries over. Ctrl-D or an empty stdin ends it.
"""

import sys

import _backend

from agentloop import Conversation, tool


@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 17, "conditions": "light rain"}


conv = Conversation(
    _backend.client(),
    model="gemini-3.5-flash",
    system_instruction="You are a friendly assistant. Keep answers short.",
    tools=[get_weather],
)
interactive = sys.stdin.isatty()

while True:
    if interactive:
        print("you> ", end="", flush=True)
    line = sys.stdin.readline()
    if not line:
        break
    message = line.strip()
    if message in ("/stateful", "/stateless"):
        conv.strategy = message[1:]
        print(f"(strategy: {conv.strategy})")
        continue
    if not message:
        continue
    at_line_start = True
    for event in conv.stream(message):
        if event.type == "text_delta":
            print(("bot> " if at_line_start else "") + event.text, end="", flush=True)
            at_line_start = False
        elif event.type == "tool_call_started":
            print(f"[calling {event.call.name}({event.call.arguments})]", flush=True)
        elif event.type == "tool_call_finished":
            print(f"[{event.call.name} returned {event.result.result}]", flush=True)
    print()

print(f"bye ({len(conv.history)} steps of history)")
