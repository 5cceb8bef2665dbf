"""What a workload costs each process: peak resident memory and CPU time.

A process counts with its children (PostgreSQL's backends, for one): their RSS is added up,
so pages they share are counted once per process — an upper bound, the same way for every
system. CPU time is user + system, read at the start and the end of the workload: unlike
wall-clock figures, it does not grow when other work on the machine takes the cores, so it
is the steadiest measure of what a run costs. The benchmark's own process (the client) is
counted apart, without its children.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Final

import psutil

__all__ = ["ProcessSampler", "tree_cpu_s", "tree_rss_bytes"]

_MIB: Final = 2**20


def _members(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return []


def tree_rss_bytes(process: psutil.Process) -> int:
    """RSS of `process` and all its descendants; 0 once it is gone."""
    total = 0
    for member in _members(process):
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue  # exited between listing and reading
    return total


def tree_cpu_s(process: psutil.Process) -> float:
    """User + system CPU seconds of `process` and its living descendants."""
    total = 0.0
    for member in _members(process):
        try:
            times = member.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _own_cpu_s() -> float:
    times = psutil.Process(os.getpid()).cpu_times()
    return times.user + times.system


class ProcessSampler:
    """`with ProcessSampler({"executor": pid, ...}) as s: ...`, then `s.peak_mib()`, `s.cpu_s()`.

    RSS is sampled in a thread every `interval_s`; a process that exits keeps its peak.
    """

    def __init__(self, pids: Mapping[str, int], interval_s: float = 0.25) -> None:
        self._processes: dict[str, psutil.Process] = {}
        for name, pid in pids.items():
            try:
                self._processes[name] = psutil.Process(pid)
            except psutil.Error:
                continue
        self._interval_s = interval_s
        self._peak: dict[str, int] = dict.fromkeys(self._processes, 0)
        self._cpu_start: dict[str, float] = {}
        self._cpu: dict[str, float] = {}
        self._own_start = 0.0
        self.client_cpu_s = 0.0
        """CPU seconds of the benchmark's own process (the client) meanwhile."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="process-sampler", daemon=True)

    def __enter__(self) -> ProcessSampler:
        self.sample()
        self._cpu_start = {name: tree_cpu_s(p) for name, p in self._processes.items()}
        self._own_start = _own_cpu_s()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sample()
        self.client_cpu_s = _own_cpu_s() - self._own_start
        self._cpu = {
            name: max(0.0, tree_cpu_s(p) - self._cpu_start[name])
            for name, p in self._processes.items()
        }

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.sample()

    def sample(self) -> None:
        for name, process in self._processes.items():
            self._peak[name] = max(self._peak[name], tree_rss_bytes(process))

    def peak_mib(self) -> dict[str, float]:
        return {name: round(peak / _MIB, 1) for name, peak in self._peak.items()}

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds each process (with its children) used between enter and exit."""
        return dict(self._cpu)
