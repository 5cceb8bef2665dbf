"""The LLM gateway: one call in, one answer out, through the agent's fallback chain.

For each agent of the chain (the named agent, then its `fallback` list): build the
request from the profile, fit it to the model's context (token guard), answer from the
cache if it can, else ask the provider through `Gatekeeper.admit` (breaker, budget,
concurrency slot) and the transport (timeouts, retries). A provider that is busy, open,
down or too slow moves the call to the next agent; a budget refusal ends it. Streaming
falls back only until the first token has been handed to the caller.

Tracing: a call is one span `llm <agent>` (the chain: the agent asked for, the one that
answered, tokens and cost in total, a `fallback` event per agent passed over), and each
request to a provider is a child span `chat <model>` made by `ProviderExchange`, so a
call that walked its fallback chain shows one `chat` span per provider tried, each with
its own provider, model and outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, replace

from opentelemetry import context, trace
from opentelemetry.trace import Status, StatusCode, Tracer

from pulse_agent_adapter.domain.llm import Completion, Deadline, LlmCall, LlmProvider
from pulse_agent_adapter.domain.llm_errors import LlmBusy, ProviderFailed
from pulse_agent_adapter.llm.accounting.prices import PriceTable
from pulse_agent_adapter.llm.admission import Gatekeeper, Unavailable
from pulse_agent_adapter.llm.cache import ResponseCache
from pulse_agent_adapter.llm.exchange import ProviderExchange
from pulse_agent_adapter.llm.metrics import LlmMetrics
from pulse_agent_adapter.llm.preparation import Prepared, prepare
from pulse_agent_adapter.llm.profiles import AgentDirectory, AgentProfile
from pulse_agent_adapter.llm.usage_sink import UsageSink
from pulse_agent_adapter.spans import llm_span_name
from pulse_contracts import PulseError, Usage
from pulse_telemetry import run_attributes

__all__ = ["GatewayDefaults", "LlmGateway"]

log = logging.getLogger("pulse.agent_adapter")


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
        tracer: Tracer | None = None,
    ) -> None:
        """`tracer` None: one from the global tracer provider."""
        self.directory = directory
        self.providers = providers
        self._gate = gatekeeper
        self._prices = prices
        self._metrics = metrics
        self._defaults = defaults
        self._tracer = tracer or trace.get_tracer("pulse.agent_adapter.llm")
        self._exchange = ProviderExchange(
            gatekeeper=gatekeeper, cache=cache, usage=usage, metrics=metrics, tracer=self._tracer
        )

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()

    def _prepare(self, profile: AgentProfile, call: LlmCall) -> Prepared:
        started = time.perf_counter()
        try:
            return self._fit(profile, call)
        finally:
            self._metrics.stage("prompt_build", time.perf_counter() - started)

    def _fit(self, profile: AgentProfile, call: LlmCall) -> Prepared:
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

    def _fell_back(self, span: trace.Span, profile: AgentProfile, failure: Unavailable) -> None:
        self._metrics.fallbacks.labels(profile.name, profile.provider, failure.reason).inc()
        self._metrics.calls.labels(profile.name, profile.provider, profile.model, "error").inc()
        span.add_event(
            "fallback",
            {
                "pulse.agent": profile.name,
                "pulse.provider": profile.provider,
                "error.type": failure.reason,
            },
        )
        log.warning(
            "agent %s could not answer: %s",
            profile.name,
            failure.message,
            extra={"agent": profile.name, "provider": profile.provider, "reason": failure.reason},
        )

    def _start_span(self, call: LlmCall) -> trace.Span:
        attributes = {
            "pulse.agent": call.agent,
            **run_attributes(call.run_id, call.tenant, call.step_id),
        }
        return self._tracer.start_span(llm_span_name(call.agent), attributes=attributes)

    @staticmethod
    def _answered(span: trace.Span, done: Completion) -> None:
        span.set_attributes(
            {
                "pulse.answered_by": done.agent,
                "pulse.provider": done.provider,
                "pulse.model": done.model,
                "pulse.cached": done.cached,
                "pulse.prompt_tokens": done.usage.prompt_tokens,
                "pulse.completion_tokens": done.usage.completion_tokens,
                "pulse.cost_usd": done.usage.cost_usd,
                "pulse.warnings": list(done.warnings),
            }
        )

    @staticmethod
    def _failed(span: trace.Span, exc: BaseException) -> None:
        code = exc.code.value if isinstance(exc, PulseError) else type(exc).__name__
        span.set_attribute("pulse.error_code", code)
        span.set_status(Status(StatusCode.ERROR, str(exc) if isinstance(exc, PulseError) else code))

    async def complete(self, call: LlmCall) -> Completion:
        span = self._start_span(call)
        try:
            with trace.use_span(span, end_on_exit=False, set_status_on_exception=False):
                done = await self._complete(call, span)
        except BaseException as exc:
            self._failed(span, exc)
            raise
        else:
            self._answered(span, done)
            return done
        finally:
            span.end()

    async def _complete(self, call: LlmCall, span: trace.Span) -> Completion:
        deadline = self._deadline(call)
        failures: list[Unavailable] = []
        inside = context.get_current()
        for profile in self.directory.chain(call.agent):
            try:
                prepared = self._prepare(profile, call)
                parts = [
                    await self._exchange.ask(prepared, r, call, deadline, inside)
                    for r in prepared.requests
                ]
            except Unavailable as failure:
                failures.append(failure)
                self._fell_back(span, profile, failure)
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
        """The answer's text as it arrives. Falls back only before the first piece.

        The `llm <agent>` span is never made current here: this generator yields to its
        caller, whose own spans must not become its children."""
        span = self._start_span(call)
        try:
            async with contextlib.aclosing(self._stream(call, span)) as pieces:
                async for piece in pieces:
                    yield piece
        except GeneratorExit:
            raise
        except BaseException as exc:
            self._failed(span, exc)
            raise
        finally:
            span.end()

    async def _stream(self, call: LlmCall, span: trace.Span) -> AsyncGenerator[str, None]:
        deadline = self._deadline(call)
        failures: list[Unavailable] = []
        inside = trace.set_span_in_context(span)
        for profile in self.directory.chain(call.agent):
            sent = False
            try:
                prepared = self._prepare(profile, call)
                for request in prepared.requests:
                    async with contextlib.aclosing(
                        self._exchange.stream(prepared, request, call, deadline, inside)
                    ) as pieces:
                        async for piece in pieces:
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
                self._fell_back(span, profile, failure)
        raise self._exhausted(call, failures)

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
