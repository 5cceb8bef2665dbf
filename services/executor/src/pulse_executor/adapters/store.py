"""Where run state lives: a key per run, written with compare-and-set."""

from __future__ import annotations

from typing import Protocol

from pulse_broker import Revisioned
from pulse_executor.domain import ExecutorRunState

__all__ = ["RunStore"]


class RunStore(Protocol):
    """Run documents by run id.

    `create` and `update` raise `pulse_broker.KvConflict` when someone else wrote first:
    the key already exists, or is no longer at `revision`.
    """

    async def load(self, run_id: str) -> Revisioned[ExecutorRunState] | None: ...

    async def create(self, run_id: str, state: ExecutorRunState) -> int: ...

    async def update(self, run_id: str, state: ExecutorRunState, revision: int) -> int: ...
