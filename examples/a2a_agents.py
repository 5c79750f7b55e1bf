"""Two agents talking over A2A (the Agent2Agent protocol) on loopback.

A weather agent is served as an A2A server (``agentloop.a2a.create_app``; on the command line
``agentloop a2a serve --agent a2a_agents.py:weather``); a second agent calls it as a tool
through ``A2AAgent``, the way it would call any A2A agent, whatever framework built it.
Needs ``pip install -e '.[a2a]'``.
"""

import socket
import threading
import time

import _backend
import uvicorn

from agentloop import Agent, tool
from agentloop.a2a import A2AAgent, create_app


@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 22, "sky": "sunny"}


weather = Agent(
    "weather",
    instructions="Answer weather questions in one sentence.",
    tools=[get_weather],
    description="Knows the weather of any city.",
)

if __name__ == "__main__":
    # The weather agent's A2A server, on a free loopback port.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(create_app(weather, client=_backend.async_client()), log_level="warning")
    )
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)

    progress: list[str] = []
    remote = A2AAgent(url, on_event=lambda event: progress.append(event.state))
    print("Remote tool:", remote.name, "-", remote.tools()[0].description)
    travel = Agent("travel", instructions="Plan trips; ask the weather agent.", tools=[remote])
    turn = travel.run("Ask the weather agent: what is it like in Lisbon?", client=_backend.client())
    for call in turn.tool_calls:
        print(f"Called {call.name}({call.arguments}) -> {call.result.result}")
    print("Remote task states:", " -> ".join(dict.fromkeys(progress)))
    print(turn.output_text)
    server.should_exit = True
