"""A real stub LLM server per test, and gateways built against it from an agents file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.llm import LlmAssembly, MemoryUsageSink, build_llm
from pulse_agent_adapter.llm.accounting import BudgetLedger, InMemoryBudgetLedger
from pulse_stack.llm_stub import StubLlmServer

GatewayFactory = Callable[..., LlmAssembly]


@pytest.fixture
async def stub() -> AsyncIterator[StubLlmServer]:
    async with StubLlmServer() as server:
        yield server


@pytest.fixture
async def make_gateway(stub: StubLlmServer, tmp_path: Path) -> AsyncIterator[GatewayFactory]:
    """`make_gateway(agents={...}, providers={...}, **settings)`: providers `stub` (OpenAI
    wire format) and `stub-anthropic` point at the stub server; fast back-off by default.
    `tracer_provider` (None: the global one) gets the gateway's and the HTTP spans."""
    built: list[LlmAssembly] = []

    def make(
        agents: dict[str, Any],
        providers: dict[str, Any] | None = None,
        budgets: dict[str, Any] | None = None,
        ledger: BudgetLedger | None = None,
        registry: CollectorRegistry | None = None,
        tracer_provider: TracerProvider | None = None,
        **settings: Any,
    ) -> LlmAssembly:
        document = {
            "providers": {
                "stub": {"kind": "openai", "base_url": stub.openai_base_url},
                "stub-anthropic": {"kind": "anthropic", "base_url": stub.anthropic_base_url},
                **(providers or {}),
            },
            "agents": agents,
            "budgets": budgets or {},
        }
        path = tmp_path / f"agents-{len(built)}.yaml"
        path.write_text(yaml.safe_dump(document))
        defaults: dict[str, Any] = {
            "agents_file": path,
            "llm_backoff_initial_s": 0.02,
            "llm_backoff_max_s": 0.2,
            "log_format": "text",
        }
        assembly = build_llm(
            Settings(**{**defaults, **settings}),
            registry or CollectorRegistry(),
            ledger=ledger or InMemoryBudgetLedger(),
            usage=MemoryUsageSink(),
            tracer_provider=tracer_provider,
        )
        built.append(assembly)
        return assembly

    yield make
    for assembly in built:
        await assembly.gateway.aclose()
