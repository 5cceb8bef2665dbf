"""The adapter's LLM gateway: agent profiles, providers, transport, accounting and cache.

`build_llm(settings, registry)` assembles it; `LlmGateway` is the `CompletionService` the
LLM tools and the `pulse.llm.requests` endpoint use.
"""

from pulse_agent_adapter.llm.assembly import (
    LlmAssembly,
    build_directory,
    build_llm,
    local_gateway,
)
from pulse_agent_adapter.llm.gateway import GatewayDefaults, LlmGateway
from pulse_agent_adapter.llm.profiles import AgentDirectory, AgentProfile, ProviderConfig
from pulse_agent_adapter.llm.settings import LlmSettings
from pulse_agent_adapter.llm.usage_sink import MemoryUsageSink, UsageSink

__all__ = [
    "AgentDirectory",
    "AgentProfile",
    "GatewayDefaults",
    "LlmAssembly",
    "LlmGateway",
    "LlmSettings",
    "MemoryUsageSink",
    "ProviderConfig",
    "UsageSink",
    "build_directory",
    "build_llm",
    "local_gateway",
]
