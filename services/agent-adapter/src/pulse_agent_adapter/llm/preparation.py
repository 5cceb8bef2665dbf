"""Turning an agent profile and a call into the request(s) a provider gets: system prompt,
parameters and limits from the profile, then the token guard for the model's context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pulse_agent_adapter.domain.llm import ChatRequest, LlmCall, LlmProvider
from pulse_agent_adapter.llm.accounting.guard import PromptTooLarge, fit_request
from pulse_agent_adapter.llm.accounting.prices import ModelPrice, PriceTable
from pulse_agent_adapter.llm.accounting.tokens import counter_for
from pulse_agent_adapter.llm.admission import Unavailable
from pulse_agent_adapter.llm.profiles import AgentDirectory, AgentProfile, context_window_of
from pulse_contracts import ChatMessage

__all__ = ["Prepared", "build_request", "prepare"]


@dataclass(frozen=True)
class Prepared:
    profile: AgentProfile
    provider: LlmProvider
    kind: str
    requests: tuple[ChatRequest, ...]
    """One request, or consecutive parts of a prompt the guard split."""
    prompt_tokens: int
    exact_tokens: bool
    warnings: tuple[str, ...]
    price: ModelPrice


def build_request(profile: AgentProfile, call: LlmCall, default_max_tokens: int) -> ChatRequest:
    """The call's messages and parameters, completed and capped by the profile."""
    messages = list(call.messages)
    if profile.system_prompt and not any(m.role == "system" for m in messages):
        messages.insert(0, ChatMessage(role="system", content=profile.system_prompt))
    max_tokens = call.max_tokens or profile.max_tokens or default_max_tokens
    if profile.limits.max_tokens is not None:
        max_tokens = min(max_tokens, profile.limits.max_tokens)
    temperature = call.temperature if call.temperature is not None else profile.temperature
    return ChatRequest(
        messages=tuple(messages),
        model=profile.model,
        max_tokens=max_tokens,
        temperature=temperature if temperature is not None else 0.0,
        top_p=profile.top_p,
        stop=tuple(profile.stop),
        json_mode=call.json_mode,
    )


def prepare(
    profile: AgentProfile,
    call: LlmCall,
    *,
    directory: AgentDirectory,
    providers: Mapping[str, LlmProvider],
    prices: PriceTable,
    default_max_tokens: int,
    default_context_window: int,
) -> Prepared:
    """Raises `Unavailable` when the prompt cannot fit this agent's model at all."""
    request = build_request(profile, call, default_max_tokens)
    kind = directory.provider_of(profile).kind
    counter = counter_for(kind, profile.model)
    window = profile.context_window or context_window_of(profile.model, default_context_window)
    try:
        fitted = fit_request(
            request, context_window=window, counter=counter, mode=profile.token_guard
        )
    except PromptTooLarge as exc:
        raise Unavailable("context", f"{profile.name}: {exc}", retryable=False) from None
    return Prepared(
        profile=profile,
        provider=providers[profile.provider],
        kind=kind,
        requests=fitted.requests,
        prompt_tokens=fitted.prompt_tokens,
        exact_tokens=counter.exact,
        warnings=fitted.warnings,
        price=profile.prices or prices.price(profile.provider, profile.model),
    )
