"""CPU a Pulse consumer spends per message besides its handler (not part of `make bench`).

    .venv/bin/python bench/consume_cost.py [--messages 4000] [--repeat 2]
        [--variants all,none,...] [--batch 1,16]

Starts an embedded `nats-server`, fills a work-queue stream with `--messages` messages of
about a `DispatchTask`'s size (with a `traceparent` and baggage, as every hop sends them),
then, in this process, consumes them with a broker made by `pulse_broker.build_broker` and
a subscriber made by `pulse_broker.durable_pull` whose handler only counts. It prints
this process' CPU per message (user + system) from the consumer's start to the last
message: FastStream's pull loop and decoding, nats-py's fetch and ack, and the
middlewares. Nothing is published meanwhile, so the consumer always has a backlog: the
best case for `--batch` (`PULSE_PULL_BATCH_SIZE`).

Variants leave middlewares out of `build_broker`'s list: `all` (as shipped), `none`,
`no-tracing`, `no-baggage`, `no-metrics`, `no-dead-letter`. Each pass runs in a fresh
process, variants interleaved `--repeat` times, so a change in the machine's load hits all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
from nats.js.api import RetentionPolicy, StreamConfig
from pydantic import BaseModel

from pulse_stack.servers import EmbeddedNats

_MIDDLEWARES = ("tracing", "baggage", "metrics", "dead-letter")  # build_broker's order
VARIANTS = {
    "all": _MIDDLEWARES,
    "none": (),
    **{f"no-{name}": tuple(m for m in _MIDDLEWARES if m != name) for name in _MIDDLEWARES},
}
_STREAM, _SUBJECT = "CONSUME_COST", "consume-cost.task"


class Task(BaseModel):
    run_id: str
    step_id: str
    attempt: int
    payload: str


async def fill(url: str, messages: int) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(
        StreamConfig(name=_STREAM, subjects=[_SUBJECT], retention=RetentionPolicy.WORK_QUEUE)
    )
    body = Task(run_id="f" * 32, step_id="s2", attempt=1, payload="x" * 300)
    headers = {
        "traceparent": f"00-{'1' * 32}-{'2' * 16}-01",
        "baggage": f"pulse.run_id={'f' * 32},pulse.tenant=bench",
    }
    await asyncio.gather(
        *(
            js.publish(_SUBJECT, body.model_dump_json().encode(), headers=headers)
            for _ in range(messages)
        )
    )
    await nc.close()


async def consume(url: str, messages: int, keep: tuple[str, ...]) -> float:
    """CPU seconds this process spent consuming `messages` with the `keep` middlewares."""
    import pulse_broker.factory as factory
    from pulse_settings import ServiceSettings
    from pulse_telemetry import setup_telemetry

    class Settings(ServiceSettings):
        service_name = "consume-cost"

    shipped = factory.PulseBroker

    class Measured(shipped):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, middlewares: tuple[Any, ...] = (), **kwargs: Any) -> None:
            kept = tuple(
                m for m, name in zip(middlewares, _MIDDLEWARES, strict=True) if name in keep
            )
            super().__init__(*args, middlewares=kept, **kwargs)

    factory.PulseBroker = Measured
    settings = Settings(nats_url=url)
    broker = factory.build_broker(settings, setup_telemetry(settings, install_global=True))
    done = asyncio.Event()
    handled = 0

    @broker.subscriber(
        **factory.durable_pull(settings, stream=_STREAM, durable="consume-cost", subject=_SUBJECT)
    )
    async def count(task: Task) -> None:
        nonlocal handled
        handled += 1
        if handled == messages:
            done.set()

    started = time.process_time()
    await broker.start()
    await done.wait()
    spent = time.process_time() - started
    await broker.stop()
    return spent


def one_pass(variant: str, batch: int, messages: int) -> float:
    """Microseconds of CPU per message, measured in a fresh process."""
    env = {**os.environ, "PULSE_PULL_BATCH_SIZE": str(batch), "PULSE_LOG_LEVEL": "WARNING"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--messages", str(messages)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def child(variant: str, messages: int) -> None:
    import uvloop

    with tempfile.TemporaryDirectory(prefix="pulse-consume-cost-") as tmp:
        server = EmbeddedNats(Path(tmp))
        server.start()
        try:
            asyncio.run(fill(server.url, messages))
            spent = uvloop.run(consume(server.url, messages, VARIANTS[variant]))
        finally:
            server.stop()
    print(f"{spent / messages * 1e6:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--variants", default="all,none", help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--batch", default="1", help="pull batch sizes, comma separated")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.messages)
        return
    variants = args.variants.split(",")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    batches = [int(b) for b in args.batch.split(",")]
    figures: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.repeat):
        for batch in batches:
            for variant in variants:
                figures.setdefault((variant, batch), []).append(
                    one_pass(variant, batch, args.messages)
                )
    for (variant, batch), us in figures.items():
        shown = " ".join(f"{u:6.0f}" for u in us)
        print(f"{variant:15s} batch {batch:3d}  CPU per message, µs: {shown}")


if __name__ == "__main__":
    main()
