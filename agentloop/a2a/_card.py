"""The agent card of a served ``Agent``: its name, description and skills."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT, TransportProtocol

if TYPE_CHECKING:
    from agentloop.agents import Agent

__all__ = ["agent_card"]


def _skill(item: Any) -> AgentSkill:
    if isinstance(item, AgentSkill):
        return item
    if isinstance(item, str):
        return AgentSkill(id=item, name=item, description=item, tags=[item])
    if isinstance(item, dict):
        data = dict(item)
        data.setdefault("name", data.get("id", ""))
        data.setdefault("id", data["name"])
        data.setdefault("description", data["name"])
        data.setdefault("tags", [data["id"]])
        return AgentSkill(**data)
    from agentloop.errors import ConfigurationError

    raise ConfigurationError(
        f"a skill is an a2a.types.AgentSkill, a dict of its fields or a name, not {item!r}"
    )


def agent_card(
    agent: Agent, url: str, *, skills: Sequence[Any] | None = None, token: bool = False
) -> AgentCard:
    """The card of ``agent`` served at ``url``: its name and description, one skill per tool
    (or the skills given / the agent's ``skills``), streaming on; a bearer scheme when the
    server needs a token (never the token itself)."""
    from agentloop.tools import Tool, ToolRegistry, Toolset

    declared = skills if skills is not None else getattr(agent, "skills", None)
    if declared:
        card_skills = [_skill(s) for s in declared]
    else:
        # Functions only: listing a toolset's tools would start it (an MCP server process).
        own = [t for t in agent.tools if isinstance(t, Tool) or not isinstance(t, (dict, Toolset))]
        registry = ToolRegistry(own)
        card_skills = [
            AgentSkill(id=t.name, name=t.name, description=t.description or t.name, tags=["tool"])
            for t in registry
        ]
        if not card_skills:
            card_skills = [
                AgentSkill(
                    id=agent.name,
                    name=agent.name,
                    description=agent.description or f"Talk to {agent.name}.",
                    tags=["chat"],
                )
            ]
    output_modes = ["text/plain"] + (["application/json"] if agent.response_model else [])
    card = AgentCard(
        name=agent.name,
        description=agent.description or f"The agentloop agent {agent.name}.",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(
                url=url,
                protocol_binding=TransportProtocol.JSONRPC,
                protocol_version=PROTOCOL_VERSION_CURRENT,
            )
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=output_modes,
        skills=card_skills,
    )
    if token:
        card.security_schemes["bearer"].CopyFrom(
            SecurityScheme(http_auth_security_scheme=HTTPAuthSecurityScheme(scheme="bearer"))
        )
        card.security_requirements.append(SecurityRequirement(schemes={"bearer": StringList()}))
    return card
