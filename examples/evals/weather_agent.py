"""The weather agent the dataset in this folder measures.

    agentloop eval examples/evals/weather.yaml --agent examples/evals/weather_agent.py:weather_agent

Without GEMINI_API_KEY it runs offline on the bundled emulator; with a key, on Gemini.
"""

from agentloop import Agent, tool


@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 17, "conditions": "light rain"}


weather_agent = Agent(
    "weather",
    instructions="You are a weather assistant. Use get_weather for every city asked about.",
    tools=[get_weather],
)
