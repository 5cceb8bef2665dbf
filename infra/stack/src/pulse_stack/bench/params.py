"""How big a benchmark run is. `quick()` fits in about a minute, `standard()` in a few."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, Field

__all__ = ["BENCH_API_KEY", "BenchParams"]

BENCH_API_KEY: Final = "pulse-bench-key"


class BenchParams(BaseModel):
    """Every knob of a run; saved with the results so a figure can be reproduced."""

    scale: str = Field(default="standard", description="quick, standard or custom.")
    # Baseline: raw JetStream on the stack's own nats-server.
    roundtrip_messages: int = Field(
        default=4000, ge=10, description="Sequential round trips (half before, half after)."
    )
    pipelined_messages: int = Field(default=20000, ge=10)
    pipeline_window: int = Field(default=256, ge=1, description="Publishes awaiting a PubAck.")
    pipeline_fetch_batch: int = Field(default=64, ge=1)
    kv_updates: int = Field(default=2000, ge=10, description="Compare-and-set writes to a KV key.")
    payload_bytes: int = Field(default=512, ge=1, description="Size of a baseline message.")
    # Fan-out: independent LLM steps against the same steps chained.
    fanout_width: int = Field(default=10, ge=2)
    step_latency_ms: int = Field(default=200, ge=1, description="The offline LLM's answer time.")
    fanout_repeats: int = Field(default=10, ge=1, description="Runs of each shape, interleaved.")
    # Orchestration overhead: chains of zero-latency calculator steps.
    chain_length: int = Field(default=10, ge=2)
    overhead_runs: int = Field(default=200, ge=1)
    overhead_concurrency: int = Field(default=1, ge=1, description="Chain runs in flight at once.")
    warmup_runs: int = Field(default=3, ge=0, description="Unmeasured runs after start-up.")
    run_timeout_s: float = Field(default=120.0, gt=0)

    @classmethod
    def quick(cls) -> BenchParams:
        return cls(
            scale="quick",
            roundtrip_messages=1000,
            pipelined_messages=5000,
            kv_updates=500,
            fanout_repeats=3,
            overhead_runs=40,
            warmup_runs=2,
        )

    @classmethod
    def standard(cls) -> BenchParams:
        return cls()

    @property
    def fanout_critical_path_ms(self) -> float:
        """The least a run of `fanout_width` independent steps can take: one step."""
        return float(self.step_latency_ms)

    @property
    def chain_critical_path_ms(self) -> float:
        return float(self.step_latency_ms * self.fanout_width)
