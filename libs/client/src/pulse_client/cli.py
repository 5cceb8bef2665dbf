"""`pulse` — run goals and inspect runs from a terminal.

    pulse run "calculate 5 * 3, add the result as a todo, then list all todos"
    pulse show <run_id> [--json]

The gateway URL and API key come from `--url`/`--key` or PULSE_URL / PULSE_API_KEY.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pulse_client.client import PulseApiError, PulseClient, RunView
from pulse_client.render import render_progress, render_run

__all__ = ["main"]


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")
    url: str = Field(default="http://127.0.0.1:8080")
    api_key: str = Field(default="pulse-dev-key")


async def _run(args: argparse.Namespace, client: PulseClient) -> int:
    created = await client.create_run(args.goal)
    run_id = str(created["run_id"])
    if not args.json:
        print(f"run {run_id} submitted (trace {created.get('trace_id')})")
    seen: dict[str, str] = {}
    run: RunView = created
    async for run in client.watch(run_id, timeout_s=args.timeout):
        if not args.json:
            for line in render_progress(run, seen):
                print(line, flush=True)
    print(json.dumps(run, indent=2) if args.json else render_run(run))
    return 0 if run["status"] == "completed" else 1


async def _show(args: argparse.Namespace, client: PulseClient) -> int:
    run = await client.get_run(args.run_id)
    print(json.dumps(run, indent=2) if args.json else render_run(run))
    return 0


def main(argv: list[str] | None = None) -> int:
    settings = CliSettings()
    parser = argparse.ArgumentParser(prog="pulse", description="Run goals on Pulse.")
    parser.add_argument("--url", default=settings.url, help="gateway URL (PULSE_URL)")
    parser.add_argument("--key", default=settings.api_key, help="API key (PULSE_API_KEY)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="submit a goal and follow it to the end")
    run_p.add_argument("goal")
    run_p.add_argument("--timeout", type=float, default=300.0)
    show_p = sub.add_parser("show", help="show one run")
    show_p.add_argument("run_id")
    args = parser.parse_args(argv)

    async def go() -> int:
        async with PulseClient(args.url, args.key) as client:
            handler = _run if args.command == "run" else _show
            return await handler(args, client)

    try:
        return asyncio.run(go())
    except PulseApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
