"""How big a benchmark run is. `quick()` fits in about two minutes, `standard()` in ten."""

from __future__ import annotations

from typing import Final, Literal

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
    # The comparison: the 1 -> 3 -> 1 DAG on each system (docs/benchmarks.md, `comparison`).
    systems: list[Literal["pulse", "temporal", "jetstream"]] = Field(
        default=["jetstream", "pulse", "temporal"], description="Systems compared, in order."
    )
    w1_serial_runs: int = Field(default=50, ge=1, description="W1's DAG, one run in flight.")
    w1_runs: int = Field(default=500, ge=1, description="W1: runs of zero-latency tools.")
    w1_concurrency: int = Field(default=10, ge=1)
    w2_runs: int = Field(default=100, ge=1, description="W2: runs of `step_latency_ms` tools.")
    w2_concurrency: int = Field(default=10, ge=1)
    w3_runs: int = Field(default=1000, ge=1, description="W3: runs submitted at once.")
    w3_timeout_s: float = Field(default=600.0, gt=0, description="Per W3 run, from its submit.")
    dag_warmup_runs: int = Field(default=5, ge=0, description="Unmeasured runs per system.")
    profile_runs: int = Field(
        default=150, ge=0, description="W1 runs while py-spy samples Pulse's services; 0: none."
    )
    profile_rate_hz: int = Field(default=100, ge=1)
    temporal_sqlite_pragmas: list[str] = Field(
        default=["journal_mode=WAL", "synchronous=NORMAL"],
        description="Temporal's SQLite file: no fsync per commit, as JetStream's file store.",
    )

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
            w1_serial_runs=20,
            w1_runs=100,
            w2_runs=20,
            w3_runs=200,
            dag_warmup_runs=3,
            profile_runs=60,
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
