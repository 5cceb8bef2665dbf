"""Pulse's A2A agent card: where to reach it (JSON-RPC and HTTP+JSON, A2A 1.0 and 0.3),
how to authenticate (the gateway's API keys as bearer tokens) and what it can do.

Skills are the goals the planner understands — each one a kind of sentence, joined with
`,`, `and` (in parallel) and `then` (in order) — plus every tool in the catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

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
from a2a.utils.constants import PROTOCOL_VERSION_0_3, PROTOCOL_VERSION_1_0, TransportProtocol

from pulse_contracts import ToolSpec

__all__ = ["AGENT_CARD_PATH", "GOAL_SKILLS", "JSONRPC_PATH", "REST_PATH", "agent_card"]

AGENT_CARD_PATH: Final = "/.well-known/agent-card.json"
JSONRPC_PATH: Final = "/a2a/jsonrpc"
REST_PATH: Final = "/a2a/rest"
_SCHEME: Final = "apiKey"
_TEXT: Final = "text/plain"
_JSON: Final = "application/json"

GOAL_SKILLS: Final = (
    AgentSkill(
        id="calculate",
        name="Calculate",
        description="Evaluate an arithmetic expression (+ - * / ** %, parentheses).",
        tags=["math", "calculator"],
        examples=["calculate 12 * 7", "calculate (100 / 4) + 3"],
    ),
    AgentSkill(
        id="todos",
        name="Todos",
        description="Add todos to the tenant's list (a text, or another step's result) and "
        "list them.",
        tags=["todo"],
        examples=[
            'add "water the plants" as a todo',
            "calculate 5 * 3, then add the result as a todo, then list all todos",
        ],
    ),
    AgentSkill(
        id="llm",
        name="Ask the LLM",
        description="Have the configured language model write or explain something.",
        tags=["llm", "writing"],
        examples=["ask the llm to explain why caches need invalidation"],
    ),
    AgentSkill(
        id="count",
        name="Count",
        description="Increment a named counter of the tenant's, exactly once per step.",
        tags=["counter"],
        examples=["count visits"],
    ),
    AgentSkill(
        id="workflow",
        name="Workflows",
        description="Any of the goals above joined with `,` or `and` (run in parallel) and "
        "`then` (run in order); every step's output comes back as an artifact.",
        tags=["workflow", "dag"],
        examples=["calculate 12 * 7 and calculate 100 / 4, then list all todos"],
    ),
)


def _tool_skill(tool: ToolSpec) -> AgentSkill:
    return AgentSkill(
        id=f"tool:{tool.name}",
        name=tool.name,
        description=tool.description or f"The {tool.name} tool (version {tool.version}).",
        tags=["tool"],
    )


def agent_card(base_url: str, *, version: str, tools: Sequence[ToolSpec] = ()) -> AgentCard:
    """The card as served from `base_url` (scheme, host and any path prefix, no slash)."""
    jsonrpc, rest = f"{base_url}{JSONRPC_PATH}", f"{base_url}{REST_PATH}"
    interfaces = [
        AgentInterface(url=url, protocol_binding=binding, protocol_version=protocol)
        for protocol in (PROTOCOL_VERSION_1_0, PROTOCOL_VERSION_0_3)
        for url, binding in (
            (jsonrpc, TransportProtocol.JSONRPC.value),
            (rest, TransportProtocol.HTTP_JSON.value),
        )
    ]
    return AgentCard(
        name="Pulse",
        description="Pulse plans a goal into a graph of steps, runs them durably (in "
        "parallel where it can) with tools and language models, and streams its progress. "
        "Each message starts one run; the run is the task, each step's output an artifact.",
        version=version,
        supported_interfaces=interfaces,
        capabilities=AgentCapabilities(
            streaming=True, push_notifications=False, extended_agent_card=False
        ),
        security_schemes={
            _SCHEME: SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="Bearer", description="A Pulse API key; it decides the tenant."
                )
            )
        },
        security_requirements=[SecurityRequirement(schemes={_SCHEME: StringList()})],
        default_input_modes=[_TEXT],
        default_output_modes=[_TEXT, _JSON],
        skills=[*GOAL_SKILLS, *(_tool_skill(tool) for tool in tools)],
    )
