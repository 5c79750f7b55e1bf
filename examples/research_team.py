"""A research team of agents: a triage agent that delegates to a researcher sub-agent (which
forks the conversation, so it sees everything without the history being sent again), asks a
managed deep-research agent, then hands the conversation over to a writer."""

import _backend

from agentloop import Agent, Handoff, ManagedAgent, RunContext, tool


@tool
def search_notes(topic: str) -> str:
    """Search the team's notes on a topic.

    Args:
        topic: What to look for.
    """
    return f"notes on {topic}: costs fell 90% in ten years"


@tool
def draft_article(title: str) -> str:
    """Draft an article with a title.

    Args:
        title: The article's title.
    """
    return f"draft '{title}' saved"


def writer_instructions(ctx: RunContext[str]) -> str:
    return f"You write for {ctx.deps}. Turn {ctx.turn}: keep it short."


writer = Agent(
    "writer",
    instructions=writer_instructions,
    tools=[draft_article],
    description="Writes and drafts the article",
)
researcher = Agent(
    "researcher",
    instructions="Research the task; cite the notes you use.",
    tools=[search_notes],
    description="Researcher: searches the notes and reports findings",
)
deep_research = ManagedAgent(
    "deep-research-pro-preview-12-2025",
    name="deep_research",
    description="Deep research on the web (a managed agent; slow)",
)
triage = Agent(
    "triage",
    instructions="Delegate research; hand writing over to the writer.",
    tools=[researcher.as_tool(context="fork"), deep_research],
    handoffs=[writer],
)

conv = triage.conversation(_backend.client(), deps="a science magazine")
for text in (
    "Ask the researcher about solar panels",
    "Start deep research on solar panels",
    "Transfer to the writer",
    "Draft an article titled Solar",
):
    print(f"> {text}")
    for event in conv.stream(text):
        if isinstance(event, Handoff):
            print(f"[handoff: {event.from_agent} -> {event.to_agent}]")
        elif event.type == "tool_call_started":
            print(f"[{conv.active_agent.name} calls {event.call.name}]")
        elif event.type == "turn_completed":
            print(event.turn.output_text)
print(f"In charge: {conv.active_agent.name}; usage: {conv.usage}")
