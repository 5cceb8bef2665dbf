"""py-spy's collapsed stacks summarized per frame and per area; RSS and CPU of processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from pulse_stack.bench.processes import ProcessSampler, tree_cpu_s
from pulse_stack.bench.profiling import area_of, short_frame, summarize_collapsed

RAW = """\
<module> (pulse_executor/__main__.py);run (asyncio/runners.py);handle (pulse_executor/handlers.py);validate_json (pydantic/type_adapter.py) 50
<module> (pulse_executor/__main__.py);run (asyncio/runners.py);handle (pulse_executor/handlers.py);start_span (opentelemetry/sdk/trace/__init__.py) 30
<module> (pulse_executor/__main__.py);run (asyncio/runners.py);handle (pulse_executor/handlers.py) 10
<module> (pulse_executor/__main__.py);run (asyncio/runners.py);_run_once (asyncio/base_events.py) 10
<module> (pulse_executor/__main__.py);run (asyncio/runners.py);_run_once (asyncio/base_events.py);select (selectors.py) 100
not a sample line
"""


def test_shares_by_innermost_frame_by_area_and_of_pulses_own_frames() -> None:
    profile = summarize_collapsed("executor", RAW, duration_s=2.0, rate_hz=100)
    assert profile.samples == 100
    assert profile.core_share == pytest.approx(0.5)
    assert profile.by_area == {
        "validation (pydantic)": 0.5,
        "tracing (opentelemetry)": 0.3,
        "pulse": 0.1,
        "asyncio": 0.1,
    }
    assert profile.top_self[0].frame == "validate_json (pydantic/type_adapter.py)"
    assert profile.top_self[0].share == 0.5
    # only Pulse's own frames, and not the entry point every sample has
    assert [(f.frame, f.share) for f in profile.top_inclusive] == [
        ("handle (pulse_executor/handlers.py)", 0.9)
    ]
    assert profile.waiting_share == 0.5  # the event loop waiting in select is left out


def test_full_file_names_are_cut_to_their_package_part() -> None:
    raw = (
        "main (/work/main/services/executor/src/pulse_executor/app.py);"
        "start_span (/v/lib/python3.11/site-packages/opentelemetry/sdk/trace/__init__.py) 3\n"
        "main (/work/main/services/executor/src/pulse_executor/app.py);"
        "run (/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/runners.py) 1\n"
    )
    profile = summarize_collapsed("executor", raw, duration_s=1.0, rate_hz=100)
    assert [f.frame for f in profile.top_self] == [
        "start_span (opentelemetry/sdk/trace/__init__.py)",
        "run (asyncio/runners.py)",
    ]
    assert profile.by_area == {"tracing (opentelemetry)": 0.75, "asyncio": 0.25}
    assert short_frame("<module> (<string>)") == "<module> (<string>)"


def test_an_empty_profile_is_all_zero() -> None:
    profile = summarize_collapsed("gateway", "", duration_s=1.0, rate_hz=100)
    assert (profile.samples, profile.core_share, profile.top_self) == (0, 0.0, [])


@pytest.mark.parametrize(
    ("frame", "area"),
    [
        ("dump_json (pydantic_core/core.py)", "validation (pydantic)"),
        ("emit (logging/__init__.py)", "logging"),
        ("dumps (json/__init__.py)", "json"),
        ("_process_msg (nats/aio/client.py)", "nats client"),
        ("consume (faststream/nats/subscriber/usecase.py)", "faststream"),
        ("decide (pulse_executor/domain/engine.py)", "pulse"),
        ("select (selectors.py)", "asyncio"),
        ("mystery (somewhere/else.py)", "other"),
    ],
)
def test_frames_fall_into_areas_by_their_file(frame: str, area: str) -> None:
    assert area_of(frame) == area


def test_rss_and_cpu_are_measured_per_named_process_with_its_children() -> None:
    busy = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ntime.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", busy])
    try:
        with ProcessSampler({"me": os.getpid(), "gone": 2**22 + 12345}, interval_s=0.05) as sampler:
            deadline = time.monotonic() + 30
            while tree_cpu_s(psutil.Process(child.pid)) < 0.3 and time.monotonic() < deadline:
                time.sleep(0.05)
        peaks = sampler.peak_mib()
    finally:
        child.kill()
        child.wait(10)
    assert set(peaks) == {"me"}  # a PID that does not exist is left out
    assert peaks["me"] > 5  # this process plus the child
    assert set(sampler.cpu_s()) == {"me"}
    assert sampler.cpu_s()["me"] >= 0.1  # mostly the busy child's
    assert sampler.client_cpu_s >= 0
