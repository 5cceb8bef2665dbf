"""`pulse-stack` — run Pulse on this machine.

pulse-stack up        start NATS, PostgreSQL and the five services; Ctrl-C stops all
pulse-stack down      stop a stack started by `up` in another terminal
pulse-stack demo      start, run the sample goals, print results, stop
pulse-stack schemas   regenerate contracts/schemas (--check: fail if stale)
pulse-stack bench     benchmark on a stack of its own; prints ratios, saves bench/results/*.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from pydantic import ValidationError

from pulse_stack.config import StackSettings
from pulse_stack.launcher import Stack

__all__ = ["main"]

_PIDFILE = "stack.json"
# Prometheus file_sd targets of the running services (infra/observability/prometheus).
_SCRAPE_TARGETS = "prometheus-targets.json"


def _stack(settings: StackSettings, state_dir: Path) -> Stack:
    return Stack(
        state_dir=state_dir.resolve(),
        nats_url=settings.nats_url,
        database_url=settings.database_url,
        api_keys=settings.api_keys,
        gateway_port=settings.gateway_port,
        log_format=settings.log_format,
        ready_timeout_s=settings.ready_timeout_s,
    )


def _first_key(settings: StackSettings) -> str:
    return settings.api_keys.split(",")[0].split("=")[0].strip()


def _print_urls(stack: Stack, settings: StackSettings) -> None:
    print("Pulse is up.")
    print(f"  gateway       {stack.gateway_url}   (API key: {_first_key(settings)})")
    for service in stack.running:
        if service.spec.name != "gateway":
            print(f"  {service.spec.name:<13} {service.url}/readyz  /metrics")
    print(f"  NATS          {stack.nats_url}")
    print(f"  PostgreSQL    {stack.database_url}")
    print(f"  logs          {stack.state_dir / 'logs'}")
    print("Try:")
    print(
        f"  PULSE_URL={stack.gateway_url} .venv/bin/pulse run 'calculate 5 * 3, add the result as a todo, then list all todos'"
    )


def _up(settings: StackSettings) -> int:
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pidfile = settings.state_dir / _PIDFILE
    targets = settings.state_dir / _SCRAPE_TARGETS
    stack = _stack(settings, settings.state_dir)
    try:
        print("Starting NATS, PostgreSQL and the five services…", flush=True)
        stack.start()
        pidfile.write_text(json.dumps({"launcher": os.getpid(), **stack.pids()}))
        targets.write_text(json.dumps(stack.scrape_targets(), indent=2))
        _print_urls(stack, settings)
        print("Ctrl-C (or `make down`) stops everything.", flush=True)
        while not stop:
            time.sleep(0.2)
    finally:
        print("Stopping…", flush=True)
        stack.stop()
        pidfile.unlink(missing_ok=True)
        targets.unlink(missing_ok=True)
        print("Stopped.")
    return 0


def _down(settings: StackSettings) -> int:
    pidfile = settings.state_dir / _PIDFILE
    if not pidfile.exists():
        print("No stack is running (no .pulse/stack.json).")
        return 0
    pids = json.loads(pidfile.read_text())
    launcher = pids.get("launcher")
    with contextlib.suppress(ProcessLookupError):
        os.kill(launcher, signal.SIGTERM)  # the launcher stops its children in order
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_alive(p) for p in pids.values()):
        time.sleep(0.2)
    for name, pid in pids.items():  # anything the launcher could not stop
        if _alive(pid):
            print(f"killing {name} ({pid})")
            os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    print("Stopped.")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _demo(settings: StackSettings) -> int:
    from pulse_stack.demo import DEMO_LLM_LATENCY_MS, run_demo

    with tempfile.TemporaryDirectory(prefix="pulse-demo-") as tmp:
        print("Starting the embedded stack (nats-server, PostgreSQL, five services)…", flush=True)
        started = time.monotonic()
        stack = _stack(settings.model_copy(update={"gateway_port": 0}), Path(tmp))
        stack.extra_env["PULSE_OFFLINE_LATENCY_MS"] = str(DEMO_LLM_LATENCY_MS)
        with stack:
            print(
                f"Stack ready in {time.monotonic() - started:.1f}s; gateway at {stack.gateway_url}\n",
                flush=True,
            )
            ok = asyncio.run(run_demo(stack.gateway_url, _first_key(settings), str(stack.nats_url)))
            print("Stopping the stack…", flush=True)
    print("All sample goals completed." if ok else "Some goals did not complete: see above.")
    return 0 if ok else 1


def _bench_intake(args: argparse.Namespace) -> int:
    from pulse_stack.bench.intake import IntakeParams, render_intake, run_intake_bench, save_intake

    params = IntakeParams.quick() if args.quick else IntakeParams()
    began = time.monotonic()
    report = run_intake_bench(
        params, lambda m: print(f"[bench +{time.monotonic() - began:5.1f}s] {m}", flush=True)
    )
    print("\n" + render_intake(report) + "\n")
    if not args.no_save:
        print(f"saved {save_intake(report, args.out)}")
    return 0


def _bench_llm(args: argparse.Namespace) -> int:
    from pulse_stack.bench.llm import LlmBenchParams, render_llm, run_llm_bench, save_llm

    params = LlmBenchParams.quick() if args.quick else LlmBenchParams()
    began = time.monotonic()
    report = run_llm_bench(
        params, lambda m: print(f"[bench +{time.monotonic() - began:5.1f}s] {m}", flush=True)
    )
    print("\n" + render_llm(report) + "\n")
    if not args.no_save:
        print(f"saved {save_llm(report, args.out)}")
    return 0 if report.overhead is not None and report.goals is not None else 1


def _bench(args: argparse.Namespace) -> int:
    if args.intake:
        return _bench_intake(args)
    if args.llm:
        return _bench_llm(args)
    from pulse_stack.bench import BenchParams, render_table, run_bench, save

    params = BenchParams.quick() if args.quick else BenchParams.standard()
    overrides = {
        name: value
        for name, value in (
            ("fanout_repeats", args.fanout_repeats),
            ("overhead_runs", args.overhead_runs),
            ("overhead_concurrency", args.concurrency),
            ("chain_length", args.chain_length),
            ("roundtrip_messages", args.messages),
        )
        if value is not None
    }
    if overrides:
        try:
            params = BenchParams.model_validate(
                params.model_dump() | overrides | {"scale": f"{params.scale}+custom"}
            )
        except ValidationError as exc:
            print(f"pulse-stack bench: {exc}", file=sys.stderr)
            return 2

    def progress(message: str) -> None:
        print(f"[bench +{time.monotonic() - began:5.1f}s] {message}", flush=True)

    began = time.monotonic()
    report = run_bench(params, progress)
    print("\n" + render_table(report) + "\n")
    if not args.no_save:
        print(f"saved {save(report, args.out)}")
    return 0 if report.fanout is not None and report.overhead is not None else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pulse-stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up")
    sub.add_parser("down")
    sub.add_parser("demo")
    schemas = sub.add_parser("schemas")
    schemas.add_argument("--check", action="store_true")
    schemas.add_argument("--out", type=Path, default=None)
    bench = sub.add_parser("bench", help="measure Pulse against the raw bus, in one run")
    bench.add_argument(
        "--quick", action="store_true", help="under a minute; the default takes one to a few"
    )
    bench.add_argument(
        "--out", type=Path, default=Path("bench/results"), help="where the JSON goes"
    )
    bench.add_argument("--no-save", action="store_true", help="print only")
    bench.add_argument("--fanout-repeats", type=int, help="runs of each fan-out shape")
    bench.add_argument("--overhead-runs", type=int, help="calculator chains to run")
    bench.add_argument("--concurrency", type=int, help="calculator chains in flight at once")
    bench.add_argument("--chain-length", type=int, help="steps per calculator chain")
    bench.add_argument("--messages", type=int, help="sequential JetStream round trips")
    bench.add_argument(
        "--intake",
        action="store_true",
        help="only POST /v1/runs: latency p50/p95 and sustained accept rate (bench/intake.py)",
    )
    bench.add_argument(
        "--llm",
        action="store_true",
        help="only the LLM gateway: adapter overhead per call against the stub provider, "
        "and 100 LLM-bound goals at 2.3 s, 32 at a time (bench/llm.py)",
    )
    args = parser.parse_args(argv)
    settings = StackSettings()
    if args.command == "up":
        return _up(settings)
    if args.command == "down":
        return _down(settings)
    if args.command == "demo":
        return _demo(settings)
    if args.command == "bench":
        return _bench(args)
    from pulse_stack.schemas import write_schemas

    return write_schemas(args.out, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
