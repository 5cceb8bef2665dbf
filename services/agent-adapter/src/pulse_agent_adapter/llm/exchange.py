"""One chat request to one agent's provider: the cache, admission (breaker, budget, slot),
the provider call, then accounting and caching — inside its `chat <model>` span (see
`observation`), timed per stage (`llm_call`, `post_process`).

The provider's HTTP request is the span's child (httpx instrumentation) and is sent
without Pulse's baggage.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace

from opentelemetry import context, trace
from opentelemetry.trace import Tracer

from pulse_agent_adapter.domain.llm import (
    ChatRequest,
    Completion,
    Deadline,
    LlmCall,
    StreamDelta,
    StreamEvent,
)
from pulse_agent_adapter.llm.accounting.tokens import counter_for
from pulse_agent_adapter.llm.accounting.usage import UsageRecord
from pulse_agent_adapter.llm.admission import Admission, Gatekeeper
from pulse_agent_adapter.llm.cache import ResponseCache
from pulse_agent_adapter.llm.metrics import LlmMetrics
from pulse_agent_adapter.llm.observation import (
    CACHE_MISS,
    chat_answered,
    chat_failed,
    current,
    log_prompt,
    start_chat_span,
)
from pulse_agent_adapter.llm.preparation import Prepared
from pulse_agent_adapter.llm.usage_sink import UsageSink
from pulse_agent_adapter.spans import without_baggage
from pulse_contracts import Usage

__all__ = ["ProviderExchange"]


class ProviderExchange:
    def __init__(
        self,
        *,
        gatekeeper: Gatekeeper,
        cache: ResponseCache | None,
        usage: UsageSink,
        metrics: LlmMetrics,
        tracer: Tracer,
    ) -> None:
        self._gate = gatekeeper
        self._cache = cache
        self._usage = usage
        self._metrics = metrics
        self._tracer = tracer

    # --- accounting ----------------------------------------------------------------------------

    @staticmethod
    def finish(prepared: Prepared, request: ChatRequest, done: Completion) -> Completion:
        """The answer with its tokens (the provider's count, else ours) and cost."""
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
        m = self._metrics
        labels = (done.agent, done.provider, done.model)
        m.counter(m.calls, *labels, outcome).inc()
        if not done.cached:
            m.counter(m.tokens, call.tenant, *labels, "prompt").inc(done.usage.prompt_tokens)
            m.counter(m.tokens, call.tenant, *labels, "completion").inc(
                done.usage.completion_tokens
            )
            m.counter(m.cost, call.tenant, *labels).inc(done.usage.cost_usd)
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

    def _admit(
        self, prepared: Prepared, request: ChatRequest, tenant: str, deadline: Deadline
    ) -> contextlib.AbstractAsyncContextManager[Admission]:
        """The provider's go-ahead for this request: breaker, budget, concurrency slot."""
        return self._gate.admit(
            tenant=tenant,
            provider=prepared.provider.name,
            request=request,
            price=prepared.price,
            prompt_tokens=prepared.prompt_tokens,
            exact_tokens=prepared.exact_tokens,
            deadline=deadline,
        )

    def _cache_key(self, prepared: Prepared, request: ChatRequest, call: LlmCall) -> str | None:
        """The request's cache key, or None when this call does not use the cache. Hashed
        once for the lookup and the store."""
        if self._cache is None or not (call.use_cache and prepared.profile.cache):
            return None
        return self._cache.key(call.tenant, prepared.provider.name, request)

    async def _cached(
        self, prepared: Prepared, request: ChatRequest, call: LlmCall, key: str | None
    ) -> tuple[Completion, str] | None:
        if self._cache is None or key is None:
            return None
        hit = await self._cache.get(call.tenant, prepared.provider.name, request, key=key)
        if hit is None:
            return None
        post = time.perf_counter()
        done = hit.entry.completion(prepared.profile.name)
        self._record(call, done, "cached")
        self._metrics.stage("post_process", time.perf_counter() - post)
        return done, hit.layer

    async def _store(
        self,
        prepared: Prepared,
        request: ChatRequest,
        call: LlmCall,
        done: Completion,
        key: str | None,
    ) -> None:
        if self._cache is not None and key is not None:
            await self._cache.put(call.tenant, prepared.provider.name, request, done, key=key)
        self._record(call, done, "ok")

    def _provider_answered(self, provider: str, model: str, since: float) -> float:
        """Observe the provider's time; return when post-processing began."""
        now = time.perf_counter()
        self._metrics.stage("llm_call", now - since)
        self._metrics.histogram(self._metrics.request_seconds, provider, model).observe(now - since)
        return now

    # --- one request ---------------------------------------------------------------------------

    async def ask(
        self,
        prepared: Prepared,
        request: ChatRequest,
        call: LlmCall,
        deadline: Deadline,
        parent: context.Context,
    ) -> Completion:
        started = time.perf_counter()
        span = start_chat_span(self._tracer, prepared, request, call, parent)
        try:
            with current(span), without_baggage():
                try:
                    done, cache = await self._ask(prepared, request, call, deadline)
                except BaseException as exc:
                    chat_failed(span, exc)
                    raise
                chat_answered(span, done, cache, started)
                return done
        finally:
            span.end()

    async def _ask(
        self, prepared: Prepared, request: ChatRequest, call: LlmCall, deadline: Deadline
    ) -> tuple[Completion, str]:
        key = self._cache_key(prepared, request, call)
        cached = await self._cached(prepared, request, call, key)
        if cached is not None:
            return cached
        log_prompt(request)
        streaming = call.stream if call.stream is not None else prepared.profile.stream
        async with self._admit(prepared, request, call.tenant, deadline) as admission:
            since = time.perf_counter()
            if streaming:
                raw = await self._collect(prepared, request, deadline)
            else:
                raw = await prepared.provider.chat(request, deadline)
            post = self._provider_answered(raw.provider, raw.model, since)
            done = self.finish(prepared, request, raw)
            admission.usage = done.usage
        await self._store(prepared, request, call, done, key)
        self._metrics.stage("post_process", time.perf_counter() - post)
        return done, CACHE_MISS

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

    # --- one streamed request ------------------------------------------------------------------

    async def stream(
        self,
        prepared: Prepared,
        request: ChatRequest,
        call: LlmCall,
        deadline: Deadline,
        parent: context.Context,
    ) -> AsyncGenerator[str, None]:
        """The answer's pieces as they arrive. The span is made current only while the
        provider is being read (not across this generator's yields, which run the caller's
        code), so the provider's HTTP span is its child and nothing else is."""
        started = time.perf_counter()
        span = start_chat_span(self._tracer, prepared, request, call, parent)
        inside = trace.set_span_in_context(span, parent)
        try:
            key = self._cache_key(prepared, request, call)
            cached = await self._cached(prepared, request, call, key)
            if cached is not None:
                yield cached[0].text
                with current(span):
                    chat_answered(span, cached[0], cached[1], started)
                return
            log_prompt(request)
            # Closed explicitly when the caller stops reading, so the admission (slot,
            # breaker, budget) is settled now rather than whenever it is collected.
            async with contextlib.aclosing(
                self._stream_provider(prepared, request, call, deadline, inside, key)
            ) as pieces:
                async for piece in pieces:
                    if isinstance(piece, Completion):
                        with current(span):
                            chat_answered(span, piece, CACHE_MISS, started)
                    else:
                        yield piece
        except GeneratorExit:  # the caller stopped reading: not a failure
            span.set_attribute("pulse.stream_abandoned", True)
            raise
        except BaseException as exc:
            chat_failed(span, exc)
            raise
        finally:
            span.end()

    async def _stream_provider(
        self,
        prepared: Prepared,
        request: ChatRequest,
        call: LlmCall,
        deadline: Deadline,
        inside: context.Context,
        key: str | None,
    ) -> AsyncGenerator[str | Completion, None]:
        """The text pieces, then the accounted `Completion` once the stream ended."""
        pieces: list[str] = []
        end_usage: Usage | None = None
        finish = "stop"
        async with self._admit(prepared, request, call.tenant, deadline) as admission:
            since = time.perf_counter()
            events = aiter(prepared.provider.stream(request, deadline))
            try:
                while (event := await _next_in(inside, events)) is not None:
                    if isinstance(event, StreamDelta):
                        pieces.append(event.text)
                        yield event.text
                    else:
                        end_usage, finish = event.usage, event.finish_reason
            finally:
                if isinstance(events, AsyncGenerator):  # its HTTP response closes now
                    await events.aclose()
            raw = Completion(
                text="".join(pieces),
                usage=end_usage or Usage(),
                model=request.model,
                provider=prepared.provider.name,
                finish_reason=finish,
            )
            post = self._provider_answered(raw.provider, raw.model, since)
            done = self.finish(prepared, request, raw)
            admission.usage = done.usage
        await self._store(prepared, request, call, done, key)
        self._metrics.stage("post_process", time.perf_counter() - post)
        yield done


async def _next_in(ctx: context.Context, events: AsyncIterator[StreamEvent]) -> StreamEvent | None:
    """The next stream event, read with `ctx` current (and without baggage)."""
    with without_baggage(ctx):
        return await anext(events, None)
