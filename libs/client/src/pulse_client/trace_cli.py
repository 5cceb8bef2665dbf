"""`pulse trace <run_id>`: the run's waterfall from the archive, with its trace id.

pulse trace <run_id>                 # the waterfall in the terminal
pulse trace <run_id> --json          # the timeline as the gateway returns it
pulse trace <run_id> --html run.html # one self-contained page to share
pulse trace <run_id> --wait 30       # first wait (up to 30 s) for the run to end and
                                     # the archive to hold all of it
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TextIO

from pulse_client.client import PulseClient, RunView
from pulse_client.timeline import Timeline
from pulse_client.waterfall import render_waterfall
from pulse_client.waterfall_html import render_waterfall_html

__all__ = ["add_trace_command", "trace", "uses_colour"]


def uses_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def add_trace_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    json_flag: argparse.ArgumentParser,
) -> None:
    parser = commands.add_parser(
        "trace",
        parents=[json_flag],
        help="a run's waterfall: each attempt's queue wait and work in time, agent, tokens, "
        "cost, error, and the trace id",
    )
    parser.add_argument("run_id")
    parser.add_argument(
        "--html", type=Path, metavar="FILE", help="also write the waterfall as one HTML page"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to this long for the run to end and be fully archived",
    )
    parser.add_argument(
        "--width", type=int, help="columns to lay the waterfall out in (default: the terminal's)"
    )


async def trace(args: argparse.Namespace, client: PulseClient) -> int:
    body: RunView
    if args.wait > 0:
        body = await client.settled_timeline(args.run_id, timeout_s=args.wait)
    else:
        body = await client.timeline_json(args.run_id)
    timeline = Timeline.model_validate(body)
    if args.html is not None:
        args.html.write_text(render_waterfall_html(timeline), encoding="utf-8")
        print(f"wrote the waterfall of run {timeline.run_id} to {args.html}", file=sys.stderr)
    if args.json:
        print(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        width = args.width or shutil.get_terminal_size((120, 24)).columns
        print(render_waterfall(timeline, width=width, colour=uses_colour(sys.stdout)))
    return 0
