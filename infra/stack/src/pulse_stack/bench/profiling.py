"""Where the services' time goes: py-spy samples each one from outside, by PID.

`SpyRecorder` attaches `py-spy record --nonblocking --gil` (the target is never paused;
nothing in the services changes) to each process for the length of a workload;
`summarize_collapsed` turns py-spy's collapsed stacks into shares per frame and per area
(pure, tested).

With `--gil` a sample counts only when a thread holds the GIL: Python code and the C code it
calls (pydantic-core, json), not system calls (socket writes release the GIL) nor threads
waiting. `samples / (rate x seconds)` is the share of the wall time the process held the
GIL — on a machine with more runnable processes than cores, that includes moments it was
preempted while holding it, so it is an upper bound of its CPU share; the benchmark's CPU
times per process (`processes`) are the exact figure.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Final

from pydantic import BaseModel, Field

__all__ = [
    "AREAS",
    "FrameShare",
    "ServiceProfile",
    "SpyRecorder",
    "area_of",
    "py_spy_binary",
    "short_frame",
    "summarize_collapsed",
]

AREAS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("validation (pydantic)", ("pydantic/", "pydantic_core/", "pydantic_settings/")),
    ("tracing (opentelemetry)", ("opentelemetry/",)),
    ("logging", ("logging/", "structlog/", "pulse_telemetry/log")),
    ("json", ("json/",)),
    ("faststream", ("faststream/", "fast_depends/")),
    ("metrics (prometheus)", ("prometheus_client/",)),
    ("deepcopy", ("copy.py",)),
    ("nats client", ("nats/",)),
    ("http server/client", ("uvicorn/", "starlette/", "fastapi/", "httpx/", "httpcore/", "h11/")),
    ("database", ("sqlalchemy/", "asyncpg/")),
    ("asyncio", ("asyncio/", "selectors.py", "uvloop/", "anyio/")),
    ("pulse", ("pulse_",)),
)
"""Areas by file path of the innermost Python frame; the first match wins."""

OTHER_AREA: Final = "other"

_WAITING: Final = (
    "select (selectors.py)",
    "EpollSelector.select (selectors.py)",
    "Condition.wait (threading.py)",
    "Event.wait (threading.py)",
    "_worker (concurrent/futures/thread.py)",
)
"""Innermost frames of a thread that waits: py-spy sometimes counts them as active."""


class FrameShare(BaseModel):
    frame: str = Field(description="`function (package/file.py)` as py-spy names it.")
    share: float = Field(description="Fraction of the service's samples.")


class ServiceProfile(BaseModel):
    service: str
    samples: int
    duration_s: float
    rate_hz: int
    core_share: float = Field(
        description="samples / (rate x duration): the share of the time it held the GIL."
    )
    by_area: dict[str, float] = Field(description="Self time by the innermost frame's area.")
    top_self: list[FrameShare] = Field(description="Innermost frames: where the time is spent.")
    top_inclusive: list[FrameShare] = Field(
        description="Pulse's own frames anywhere on the stack: what the time was spent for."
    )
    waiting_share: float = Field(
        default=0.0,
        description="Samples of threads waiting (event loop select, thread pools) left out.",
    )


def area_of(frame: str) -> str:
    """The area of `function (path/file.py)`, or `other`."""
    start = frame.rfind("(")
    path = frame[start + 1 : -1] if start >= 0 and frame.endswith(")") else frame
    for area, prefixes in AREAS:
        if any(prefix in path for prefix in prefixes):
            return area
    return OTHER_AREA


_ROOTS: Final = re.compile(r"^.*(?:/site-packages/|/src/|/lib/python3\.\d+/)")


def short_frame(frame: str) -> str:
    """`f (/x/site-packages/pydantic/main.py)` -> `f (pydantic/main.py)`: the package part."""
    start = frame.rfind(" (")
    if start < 0 or not frame.endswith(")"):
        return frame
    return f"{frame[:start]} ({_ROOTS.sub('', frame[start + 2 : -1])})"


def _parse(text: str) -> Counter[tuple[str, ...]]:
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stacks[tuple(short_frame(f) for f in stack.split(";"))] += int(count)
    return stacks


def _shares(counts: Counter[str], total: int, top: int) -> list[FrameShare]:
    return [
        FrameShare(frame=frame, share=round(n / total, 4)) for frame, n in counts.most_common(top)
    ]


def summarize_collapsed(
    service: str, text: str, *, duration_s: float, rate_hz: int, top: int = 15
) -> ServiceProfile:
    """The profile of one service from py-spy's `--format raw` output."""
    stacks = _parse(text)
    waiting = sum(n for frames, n in stacks.items() if frames[-1] in _WAITING)
    total = sum(stacks.values()) - waiting
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    for frames, count in stacks.items():
        if frames[-1] in _WAITING:
            continue
        own[frames[-1]] += count
        areas[area_of(frames[-1])] += count
        for frame in set(frames):  # recursion counts a sample once
            if area_of(frame) == "pulse" and "__main__" not in frame:
                anywhere[frame] += count
    denominator = max(total, 1)
    return ServiceProfile(
        service=service,
        samples=total,
        duration_s=round(duration_s, 2),
        rate_hz=rate_hz,
        core_share=round(total / (rate_hz * duration_s), 3) if duration_s > 0 else 0.0,
        by_area={area: round(n / denominator, 4) for area, n in areas.most_common()},
        top_self=_shares(own, denominator, top),
        top_inclusive=_shares(anywhere, denominator, top),
        waiting_share=round(waiting / max(waiting + total, 1), 4),
    )


def py_spy_binary() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


class SpyRecorder:
    """`start()` one py-spy per process, run the workload, `stop()` for their profiles.

    `stop()` interrupts each py-spy (SIGINT, as Ctrl-C: it then writes its file) by PID and
    kills any that does not finish; a service py-spy could not attach to is left out and
    named in `failures`.
    """

    def __init__(self, pids: Mapping[str, int], out_dir: Path, rate_hz: int = 100) -> None:
        self._pids = dict(pids)
        self._dir = out_dir
        self.rate_hz = rate_hz
        self._spies: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []
        self._began = 0.0
        self.failures: list[str] = []

    def start(self, attach_s: float = 1.0) -> None:
        """Start sampling; waits `attach_s` for py-spy to attach before the clock starts."""
        binary = py_spy_binary()
        if binary is None:
            self.failures.append("py-spy is not installed")
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        for name, pid in self._pids.items():
            log = (self._dir / f"{name}.log").open("wb")
            self._logs.append(log)
            self._spies[name] = subprocess.Popen(
                [
                    binary,
                    "record",
                    "--pid",
                    str(pid),
                    "--format",
                    "raw",
                    "--nolineno",
                    "--nonblocking",
                    "--gil",
                    "--full-filenames",
                    "--rate",
                    str(self.rate_hz),
                    "--output",
                    str(self._dir / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        time.sleep(attach_s)
        self._began = time.monotonic()

    def stop(self) -> list[ServiceProfile]:
        duration = time.monotonic() - self._began
        for spy in self._spies.values():
            if spy.poll() is None:
                spy.send_signal(signal.SIGINT)
        profiles: list[ServiceProfile] = []
        for name, spy in self._spies.items():
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(5)
            out = self._dir / f"{name}.txt"
            if not out.exists():
                tail = ""
                with contextlib.suppress(OSError):
                    tail = (self._dir / f"{name}.log").read_text(errors="replace")[-300:]
                self.failures.append(f"py-spy got nothing from {name}: {tail.strip()}")
                continue
            profiles.append(
                summarize_collapsed(
                    name, out.read_text(errors="replace"), duration_s=duration, rate_hz=self.rate_hz
                )
            )
        self._spies.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        return profiles
