"""The offline provider moved to `pulse_agent_adapter.llm.providers.offline`; this name stays
for callers of the walking skeleton's layout."""

from pulse_agent_adapter.llm.accounting.tokens import estimate_tokens
from pulse_agent_adapter.llm.providers.offline import OfflineProvider

__all__ = ["OfflineProvider", "estimate_tokens"]
