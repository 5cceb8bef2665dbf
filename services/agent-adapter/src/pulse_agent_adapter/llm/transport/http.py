"""One pooled `httpx.AsyncClient` per provider, with retries, timeouts and rate-limit
feedback: what every HTTP provider (OpenAI-compatible, Anthropic) sends requests through.

Each attempt gets `min(request_timeout_s, time left before the deadline)`. Retryable
failures (see `retry`) are tried again up to `max_retries` times, pausing as the provider
asked or with jittered exponential back-off, but never past the deadline. Every response's
rate-limit headers feed the provider's throttle. Streams are retried only until their
status line arrived: once the body flows, a failure is the caller's to handle.

The pool's transport is wrapped by OpenTelemetry's httpx instrumentation (with the
service's tracer provider, not the global one): every attempt is a CLIENT span, child of
the gateway's `chat <model>` span, and carries `traceparent` to the provider. Error bodies
are cut and scrubbed of the provider key before they go anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport
from opentelemetry.trace import TracerProvider

from pulse_agent_adapter.domain.llm import Deadline
from pulse_agent_adapter.llm.transport.errors import ProviderError, redact
from pulse_agent_adapter.llm.transport.retry import (
    RETRYABLE_STATUSES,
    RetryPolicy,
    parse_retry_after,
)

__all__ = ["HttpTransport", "TransportSettings"]

log = logging.getLogger("pulse.agent_adapter")

RetryListener = Callable[[str, str], None]
"""Called with (provider, reason) before each retry, for metrics."""

_ERROR_BODY_CHARS = 500
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})


@dataclass(frozen=True)
class TransportSettings:
    request_timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    max_connections: int = 64
    max_keepalive: int = 32
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def _error_text(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except (ValueError, json.JSONDecodeError):
        return response.text[:_ERROR_BODY_CHARS]
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and "message" in error:
        return str(error["message"])[:_ERROR_BODY_CHARS]
    return json.dumps(payload)[:_ERROR_BODY_CHARS]


class HttpTransport:
    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        headers: Mapping[str, str],
        settings: TransportSettings,
        observe: Callable[[dict[str, str]], None] = lambda _headers: None,
        on_retry: RetryListener | None = None,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        """`client` replaces the pooled, traced one (tests); `tracer_provider` None means
        the global one."""
        self.provider = provider
        self.settings = settings
        self._observe = observe
        self._on_retry = on_retry
        self._sleep = sleep
        # The whole header value and its last word: a provider may echo the key alone.
        self._secrets = tuple(
            part
            for k, v in headers.items()
            if k.lower() in _SECRET_HEADERS
            for part in {v, v.split()[-1] if v.split() else v}
        )
        self._client = client or httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=dict(headers),
            # Instrumenting the transport of this one pool, rather than httpx globally,
            # keeps the `http.get` tool's fetches and any library's clients out of it.
            transport=AsyncOpenTelemetryTransport(
                httpx.AsyncHTTPTransport(
                    limits=httpx.Limits(
                        max_connections=settings.max_connections,
                        max_keepalive_connections=settings.max_keepalive,
                    )
                ),
                tracer_provider=tracer_provider,
            ),
            timeout=httpx.Timeout(settings.request_timeout_s, connect=settings.connect_timeout_s),
            follow_redirects=False,
        )

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client

    async def aclose(self) -> None:
        await self._client.aclose()

    def _timeout(self, deadline: Deadline) -> float:
        left = deadline.remaining()
        if left <= 0:
            raise ProviderError(self.provider, "timed out: no time left", retryable=True)
        return min(self.settings.request_timeout_s, left)

    def _check(self, response: httpx.Response) -> None:
        self._observe(dict(response.headers))
        if response.status_code < 400:
            return
        raise ProviderError(
            self.provider,
            f"HTTP {response.status_code}: {redact(_error_text(response), self._secrets)}",
            status=response.status_code,
            retryable=response.status_code in RETRYABLE_STATUSES,
            retry_after_s=parse_retry_after(dict(response.headers)),
        )

    def _timed_out(self, timeout_s: float) -> ProviderError:
        return ProviderError(self.provider, f"timed out after {timeout_s:.2f}s", retryable=True)

    def _wrap(self, exc: httpx.HTTPError, timeout_s: float) -> ProviderError:
        if isinstance(exc, httpx.TimeoutException):
            message = f"timed out after {timeout_s:.2f}s ({type(exc).__name__})"
        else:
            message = f"{type(exc).__name__}: {exc}"
        return ProviderError(self.provider, message, retryable=True)

    async def _pause_or_raise(
        self, error: ProviderError, failures: int, deadline: Deadline
    ) -> None:
        policy = self.settings.retry
        if not error.retryable or failures > policy.max_retries:
            raise error
        pause = policy.pause_s(failures, error.retry_after_s)
        if pause >= deadline.remaining():
            raise error  # waiting would end past the deadline; the hint travels with it
        if self._on_retry is not None:
            self._on_retry(self.provider, error.reason)
        log.info(
            "%s failed (%s); retry %d of %d in %.2fs",
            self.provider,
            error.message,
            failures,
            policy.max_retries,
            pause,
        )
        await self._sleep(pause)

    async def post_json(
        self, path: str, body: Mapping[str, Any], deadline: Deadline
    ) -> dict[str, Any]:
        failures = 0
        while True:
            timeout_s = self._timeout(deadline)
            try:
                async with asyncio.timeout(timeout_s):
                    response = await self._client.post(path, json=body, timeout=timeout_s)
                    self._check(response)
                    payload = response.json()
            except ProviderError as refused:
                failures += 1
                await self._pause_or_raise(refused, failures, deadline)
                continue
            except TimeoutError:
                failures += 1
                await self._pause_or_raise(self._timed_out(timeout_s), failures, deadline)
                continue
            except httpx.HTTPError as exc:
                failures += 1
                await self._pause_or_raise(self._wrap(exc, timeout_s), failures, deadline)
                continue
            except ValueError as exc:
                raise ProviderError(self.provider, f"answer is not JSON: {exc}") from None
            if not isinstance(payload, dict):
                raise ProviderError(self.provider, "answer is not a JSON object")
            return payload

    @contextlib.asynccontextmanager
    async def stream(
        self, path: str, body: Mapping[str, Any], deadline: Deadline
    ) -> AsyncIterator[httpx.Response]:
        """The open streaming response, once its status said it will answer."""
        failures = 0
        while True:
            timeout_s = self._timeout(deadline)
            request = self._client.build_request("POST", path, json=body, timeout=timeout_s)
            try:
                async with asyncio.timeout(timeout_s):
                    response = await self._client.send(request, stream=True)
            except TimeoutError:
                failures += 1
                await self._pause_or_raise(self._timed_out(timeout_s), failures, deadline)
                continue
            except httpx.HTTPError as exc:
                failures += 1
                await self._pause_or_raise(self._wrap(exc, timeout_s), failures, deadline)
                continue
            try:
                if response.status_code >= 400:
                    await response.aread()
                self._check(response)
            except ProviderError as refused:
                await response.aclose()
                failures += 1
                await self._pause_or_raise(refused, failures, deadline)
                continue
            except httpx.HTTPError as exc:
                await response.aclose()
                failures += 1
                await self._pause_or_raise(self._wrap(exc, timeout_s), failures, deadline)
                continue
            break
        try:
            yield response
        finally:
            await response.aclose()
