"""Every NATS message a W1 run causes, by kind and subject (not part of `make bench`).

    .venv/bin/python bench/message_census.py [--runs 20] [--kind calculator|llm]

Starts the embedded stack as `make bench` does (same settings), warms it up, then listens
on `>` with a core NATS subscription while `--runs` runs of the benchmark's DAG go through
the gateway one at a time, and prints messages per run grouped by what they are:

- *published*: a client's message on a subject (a JetStream publish, an API request, an ack,
  a pull request);
- *delivered*: a stream message handed to a consumer (it carries a `$JS.ACK.` reply);
- *replies*: answers on `_INBOX` subjects (PubAcks, API responses).

Subjects are shown with run ids, hashes and numbers replaced by placeholders. A `>`
subscriber also receives the server's API advisories (`$JS.EVENT.ADVISORY.API`), which are
only produced because someone listens; they are listed but not counted in the totals.
Every message costs a system call to send and to receive on both sides, which on loopback
is most of what `StreamWriter.writelines` shows in the profiles (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
from collections import Counter
from pathlib import Path

import nats
from nats.aio.msg import Msg

from pulse_stack.bench.dag import ToolKind, pulse_goal
from pulse_stack.bench.params import BENCH_API_KEY, BenchParams
from pulse_stack.bench.runner import service_env
from pulse_stack.bench.runs import RunDriver
from pulse_stack.launcher import Stack

_PLACEHOLDERS = (
    (re.compile(r"\b[0-9a-f]{32}\b"), "<hex>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"(?<=\.)\d+(?=\.|$)"), "<n>"),
)
_ADVISORY = "$JS.EVENT.ADVISORY."


def kind_and_subject(msg: Msg) -> tuple[str, str]:
    """What a message is, and its subject with the per-run parts replaced."""
    subject = msg.subject
    if subject.startswith("$JS.ACK."):  # an ack: stream and consumer are what matter
        return "published", ".".join(subject.split(".")[:4]) + ".<ack>"
    if subject.startswith("_INBOX"):
        return "replies", "_INBOX"
    kind = "delivered" if msg.reply.startswith("$JS.ACK.") else "published"
    for pattern, placeholder in _PLACEHOLDERS:
        subject = pattern.sub(placeholder, subject)
    return kind, subject


async def census(stack: Stack, runs: int, kind: ToolKind) -> Counter[tuple[str, str]]:
    assert stack.nats_url is not None
    seen: Counter[tuple[str, str]] = Counter()

    async def count(msg: Msg) -> None:
        seen[kind_and_subject(msg)] += 1

    listener = await nats.connect(stack.nats_url, name="pulse-bench-census")
    try:
        async with RunDriver(stack.gateway_url, BENCH_API_KEY, stack.nats_url) as driver:
            for i in range(3):
                await driver.run(pulse_goal(kind, f"90{i}"), timeout_s=60)
            await asyncio.sleep(1.0)  # the warm-up's archive writes and acks
            await listener.subscribe(">", cb=count)
            for i in range(runs):
                await driver.run(pulse_goal(kind, f"{1000 + i}"), timeout_s=60)
            await asyncio.sleep(2.5)  # the last run's archive writes and timers withdrawn
    finally:
        await listener.close()
    return seen


def report(seen: Counter[tuple[str, str]], runs: int) -> None:
    totals: Counter[str] = Counter()
    for (kind, subject), n in sorted(seen.items(), key=lambda item: (item[0][0], -item[1])):
        advisory = subject.startswith(_ADVISORY)
        if not advisory:
            totals[kind] += n
        note = "  (only because this census listens)" if advisory else ""
        print(f"{kind:10s} {n / runs:7.2f}  {subject}{note}")
    print()
    for kind, n in totals.items():
        print(f"{kind:10s} {n / runs:7.2f} per run")
    print(f"{'all':10s} {sum(totals.values()) / runs:7.2f} per run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--kind", choices=["calculator", "llm"], default="calculator")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pulse-census-") as tmp:
        stack = Stack(
            state_dir=Path(tmp),
            api_keys=f"{BENCH_API_KEY}=bench",
            extra_env=service_env(BenchParams()),
        )
        with stack:
            seen = asyncio.run(census(stack, args.runs, args.kind))
    report(seen, args.runs)


if __name__ == "__main__":
    main()
