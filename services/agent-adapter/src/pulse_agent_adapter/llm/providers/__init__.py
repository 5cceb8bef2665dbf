"""LLM providers behind the `LlmProvider` protocol: OpenAI-compatible, Anthropic, offline."""

from pulse_agent_adapter.llm.providers.anthropic import AnthropicProvider
from pulse_agent_adapter.llm.providers.offline import OfflineProvider
from pulse_agent_adapter.llm.providers.openai_compat import OpenAiCompatProvider
from pulse_agent_adapter.llm.providers.sse import SseEvent, iter_sse

__all__ = ["AnthropicProvider", "OfflineProvider", "OpenAiCompatProvider", "SseEvent", "iter_sse"]
