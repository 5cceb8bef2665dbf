"""The LLM gateway: one call in, one answer out, through the agent's fallback chain.

For each agent of the chain (the named agent, then its `fallback` list): build the
request from the profile, fit it to the model's context (token guard), answer from the
cache if it can, else ask the provider through `Gatekeeper.admit` (breaker, budget,
concurrency slot) and the transport (timeouts, retries). A provider that is busy, open,
down or too slow moves the call to the next agent; a budget refusal ends it. Streaming
falls back only until the first token has been handed to the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace

from opentelemetry import trace

from pulse_agent_adapter.domain.llm import (
    ChatRequest,
    Completion,
    Deadline,
    LlmCall,
    LlmProvider,
    StreamDelta,
)
from pulse_agent_adapter.domain.llm_errors import LlmBusy, ProviderFailed
from pulse_agent_adapter.llm.accounting.prices import PriceTable
from pulse_agent_adapter.llm.accounting.tokens import counter_for
from pulse_agent_adapter.llm.accounting.usage import UsageRecord
from pulse_agent_adapter.llm.admission import Gatekeeper, Unavailable
from pulse_agent_adapter.llm.cache import ResponseCache
from pulse_agent_adapter.llm.metrics import LlmMetrics
from pulse_agent_adapter.llm.preparation import Prepared, prepare
from pulse_agent_adapter.llm.profiles import AgentDirectory, AgentProfile
from pulse_agent_adapter.llm.usage_sink import UsageSink
from pulse_contracts import Usage

__all__ = ["GatewayDefaults", "LlmGateway"]

log = logging.getLogger("pulse.agent_adapter")
tracer = trace.get_tracer("pulse.agent_adapter.llm")


@dataclass(frozen=True)
class GatewayDefaults:
    call_timeout_s: float = 60.0
    max_tokens: int = 512
    context_window: int = 8192
    batch_concurrency: int = 16


class LlmGateway:
    def __init__(
        self,
        *,
        directory: AgentDirectory,
        providers: Mapping[str, LlmProvider],
        gatekeeper: Gatekeeper,
        prices: PriceTable,
        cache: ResponseCache | None,
        usage: UsageSink,
        metrics: LlmMetrics,
        defaults: GatewayDefaults,
    ) -> None:
        self.directory = directory
        self.providers = providers
        self._gate = gatekeeper
        self._prices = prices
        self._cache = cache
        self._usage = usage
        self._metrics = metrics
        self._defaults = defaults

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()

    def _prepare(self, profile: AgentProfile, call: LlmCall) -> Prepared:
        prepared = prepare(
            profile,
            call,
            directory=self.directory,
            providers=self.providers,
            prices=self._prices,
            default_max_tokens=self._defaults.max_tokens,
            default_context_window=self._defaults.context_window,
        )
        for warning in prepared.warnings:
            self._metrics.guard.labels(profile.name, warning).inc()
        if prepared.warnings:
            log.warning(
                "prompt for agent %s changed to fit %s: %s",
                profile.name,
                profile.model,
                ", ".join(prepared.warnings),
            )
        return prepared

    # --- after an answer -----------------------------------------------------------------

    def _finish(
        self, prepared: Prepared, request: ChatRequest, call: LlmCall, done: Completion
    ) -> Completion:
        counter = counter_for(prepared.kind, request.model)
        prompt = done.usage.prompt_tokens or counter.count_messages(request.messages)
        completion = done.usage.completion_tokens or counter.count(done.text)
        usage = Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=prepared.price.cost(prompt, completion),
        )
        return replace(done, usage=usage, agent=prepared.profile.name)

    def _record(self, call: LlmCall, done: Completion, outcome: str) -> None:
        labels = (done.agent, done.provider, done.model)
        self._metrics.calls.labels(*labels, outcome).inc()
        if not done.cached:
            self._metrics.tokens.labels(call.tenant, *labels, "prompt").inc(
                done.usage.prompt_tokens
            )
            self._metrics.tokens.labels(call.tenant, *labels, "completion").inc(
                done.usage.completion_tokens
            )
            self._metrics.cost.labels(call.tenant, *labels).inc(done.usage.cost_usd)
        self._usage.record(
            UsageRecord(
                tenant=call.tenant,
                agent=done.agent,
                provider=done.provider,
                model=done.model,
                usage=done.usage,
                run_id=call.run_id,
                step_id=call.step_id,
                cached=done.cached,
            )
        )

    def _use_cache(self, prepared: Prepared, call: LlmCall) -> bool:
        return self._cache is not None and call.use_cache and prepared.profile.cache

    # --- one request to one provider -------------------------------------------------------

    async def _ask(
        self, prepared: Prepared, request: ChatRequest, call: LlmCall, deadline: Deadline
    ) -> Completion:
        if self._cache is not None and self._use_cache(prepared, call):
            hit = await self._cache.get(call.tenant, prepared.provider.name, request)
            if hit is not None:
                done = hit.entry.completion(prepared.profile.name)
                self._record(call, done, "cached")
                return done
        streaming = call.stream if call.stream is not None else prepared.profile.stream
        started = asyncio.get_running_loop().time()
        async with self._gate.admit(
            tenant=call.tenant,
            provider=prepared.provider.name,
            request=request,
            price=prepared.price,
            prompt_tokens=prepared.prompt_tokens,
            exact_tokens=prepared.exact_tokens,
            deadline=deadline,
        ) as admission:
            if streaming:
                done = await self._collect(prepared, request, deadline)
            else:
                done = await prepared.provider.chat(request, deadline)
            done = self._finish(prepared, request, call, done)
            admission.usage = done.usage
        self._metrics.call_seconds.labels(done.provider, done.model).observe(
            asyncio.get_running_loop().time() - started
        )
        if self._cache is not None and self._use_cache(prepared, call):
            await self._cache.put(call.tenant, prepared.provider.name, request, done)
        self._record(call, done, "ok")
        return done

    async def _collect(
        self, prepared: Prepared, request: ChatRequest, deadline: Deadline
    ) -> Completion:
        pieces: list[str] = []
        end_usage: Usage | None = None
        finish = "stop"
        async for event in prepared.provider.stream(request, deadline):
            if isinstance(event, StreamDelta):
                pieces.append(event.text)
            else:
                end_usage, finish = event.usage, event.finish_reason
        return Completion(
            text="".join(pieces),
            usage=end_usage or Usage(),
            model=request.model,
            provider=prepared.provider.name,
            finish_reason=finish,
        )

    # --- the chain ---------------------------------------------------------------------------

    def _deadline(self, call: LlmCall) -> Deadline:
        return Deadline.after(call.timeout_s or self._defaults.call_timeout_s)

    def _exhausted(self, call: LlmCall, failures: list[Unavailable]) -> Exception:
        scope = {"run_id": call.run_id, "step_id": call.step_id}
        reasons = "; ".join(f.message for f in failures) or "no agent tried"
        if failures and all(f.busy for f in failures):
            after = min((f.retry_after_s or 1.0) for f in failures)
            return LlmBusy(f"agent {call.agent!r}: {reasons}", retry_after_s=after, **scope)
        retryable = any(f.retryable for f in failures)
        return ProviderFailed(
            f"agent {call.agent!r}: every provider failed: {reasons}", retryable=retryable, **scope
        )

    def _fell_back(self, profile: AgentProfile, failure: Unavailable) -> None:
        self._metrics.fallbacks.labels(profile.name, profile.provider, failure.reason).inc()
        self._metrics.calls.labels(profile.name, profile.provider, profile.model, "error").inc()
        log.warning("agent %s could not answer: %s", profile.name, failure.message)

    async def complete(self, call: LlmCall) -> Completion:
        with tracer.start_as_current_span(f"llm {call.agent}") as span:
            done = await self._complete(call)
            span.set_attributes(
                {
                    "pulse.llm.agent": done.agent,
                    "pulse.llm.provider": done.provider,
                    "pulse.llm.model": done.model,
                    "pulse.llm.cached": done.cached,
                    "pulse.llm.prompt_tokens": done.usage.prompt_tokens,
                    "pulse.llm.completion_tokens": done.usage.completion_tokens,
                    "pulse.llm.cost_usd": done.usage.cost_usd,
                    "pulse.llm.warnings": list(done.warnings),
                }
            )
            return done

    async def _complete(self, call: LlmCall) -> Completion:
        deadline = self._deadline(call)
        failures: list[Unavailable] = []
        for profile in self.directory.chain(call.agent):
            try:
                prepared = self._prepare(profile, call)
                parts = [await self._ask(prepared, r, call, deadline) for r in prepared.requests]
            except Unavailable as failure:
                failures.append(failure)
                self._fell_back(profile, failure)
                continue
            first = parts[0]
            if len(parts) == 1:
                return replace(first, warnings=prepared.warnings)
            return replace(
                first,
                text="\n\n".join(p.text for p in parts),
                usage=sum((p.usage for p in parts), Usage()),
                cached=all(p.cached for p in parts),
                warnings=prepared.warnings,
            )
        raise self._exhausted(call, failures)

    async def stream(self, call: LlmCall) -> AsyncIterator[str]:
        """The answer's text as it arrives. Falls back only before the first piece."""
        deadline = self._deadline(call)
        failures: list[Unavailable] = []
        for profile in self.directory.chain(call.agent):
            sent = False
            try:
                prepared = self._prepare(profile, call)
                for request in prepared.requests:
                    async for piece in self._stream_one(prepared, request, call, deadline):
                        sent = True
                        yield piece
                return
            except Unavailable as failure:
                if sent:
                    raise ProviderFailed(
                        f"agent {profile.name!r}: the stream broke after it began: "
                        f"{failure.message}",
                        run_id=call.run_id,
                        step_id=call.step_id,
                    ) from failure
                failures.append(failure)
                self._fell_back(profile, failure)
        raise self._exhausted(call, failures)

    async def _stream_one(
        self, prepared: Prepared, request: ChatRequest, call: LlmCall, deadline: Deadline
    ) -> AsyncIterator[str]:
        if self._cache is not None and self._use_cache(prepared, call):
            hit = await self._cache.get(call.tenant, prepared.provider.name, request)
            if hit is not None:
                done = hit.entry.completion(prepared.profile.name)
                self._record(call, done, "cached")
                yield done.text
                return
        pieces: list[str] = []
        end_usage: Usage | None = None
        finish = "stop"
        async with self._gate.admit(
            tenant=call.tenant,
            provider=prepared.provider.name,
            request=request,
            price=prepared.price,
            prompt_tokens=prepared.prompt_tokens,
            exact_tokens=prepared.exact_tokens,
            deadline=deadline,
        ) as admission:
            async for event in prepared.provider.stream(request, deadline):
                if isinstance(event, StreamDelta):
                    pieces.append(event.text)
                    yield event.text
                else:
                    end_usage, finish = event.usage, event.finish_reason
            raw = Completion(
                text="".join(pieces),
                usage=end_usage or Usage(),
                model=request.model,
                provider=prepared.provider.name,
                finish_reason=finish,
            )
            done = self._finish(prepared, request, call, raw)
            admission.usage = done.usage
        if self._cache is not None and self._use_cache(prepared, call):
            await self._cache.put(call.tenant, prepared.provider.name, request, done)
        self._record(call, done, "ok")

    async def batch(self, calls: list[LlmCall]) -> list[Completion | Exception]:
        """Every call, at most `batch_concurrency` at once (each still within its provider's
        limits); a failed call's error takes its place in the list."""
        gate = asyncio.Semaphore(self._defaults.batch_concurrency)

        async def one(call: LlmCall) -> Completion | Exception:
            async with gate:
                try:
                    return await self.complete(call)
                except Exception as exc:
                    return exc

        return list(await asyncio.gather(*(one(call) for call in calls)))
