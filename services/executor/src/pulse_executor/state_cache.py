"""The run states this replica wrote last, so the next change of a run can skip reading it.

Reading a run's document back from the KV bucket costs a round trip and a full pydantic
validation of the JSON, and most of the time the document is exactly the one this replica
wrote a moment ago. So the coordinator keeps what it wrote, with its revision, and decides
the next change from it: the compare-and-set write still checks that revision, so if
another replica wrote in between the write fails and the change is decided again from the
stored state. Only writes can be checked that way, so a decision that changes nothing
(a duplicate, a message to ignore) is always confirmed against the stored state.

States here are never edited: transitions work on `ExecutorRunState.editable_copy`.
Finished runs are dropped (little comes for them any more), and the least recently
written runs go first when the cache is full.
"""

from __future__ import annotations

from collections import OrderedDict

from pulse_broker import Revisioned
from pulse_executor.domain import ExecutorRunState

__all__ = ["WrittenStates"]


class WrittenStates:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._states: OrderedDict[str, Revisioned[ExecutorRunState]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def get(self, run_id: str) -> Revisioned[ExecutorRunState] | None:
        return self._states.get(run_id)

    def wrote(self, state: ExecutorRunState, revision: int) -> None:
        """`state` is stored at `revision`."""
        run_id = state.run_id
        if self._capacity <= 0 or state.status.is_terminal:
            self._states.pop(run_id, None)
            return
        kept = self._states.get(run_id)
        if kept is not None and kept.revision > revision:
            return  # a later write of this run finished first
        self._states[run_id] = Revisioned(state, revision)
        self._states.move_to_end(run_id)
        while len(self._states) > self._capacity:
            self._states.popitem(last=False)

    def forget(self, run_id: str, revision: int) -> None:
        """The run is no longer at `revision` (someone wrote since): drop it if kept so."""
        kept = self._states.get(run_id)
        if kept is not None and kept.revision == revision:
            del self._states[run_id]
