"""`pulse` — run goals and inspect runs from a terminal.

    pulse run "calculate 5 * 3, add the result as a todo, then list all todos"
    pulse show <run_id> [--json]
    pulse dlq list|show|replay|purge ...   (dead letters; see pulse_client.dlq_cli)

The gateway URL and API key come from `--url`/`--key` or PULSE_URL / PULSE_API_KEY; the
`dlq` commands talk to NATS at `--nats-url` or PULSE_NATS_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import httpx
from nats.errors import Error as NatsError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pulse_client.client import PulseApiError, PulseClient, RunView
from pulse_client.dlq_cli import add_dlq_commands, run_dlq
from pulse_client.render import render_progress, render_run

__all__ = ["main"]


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")
    url: str = Field(default="http://127.0.0.1:8080")
    api_key: str = Field(default="pulse-dev-key")
    nats_url: str = Field(default="nats://127.0.0.1:4222")


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


def _parser(settings: CliSettings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pulse", description="Run goals on Pulse.")
    parser.add_argument("--url", default=settings.url, help="gateway URL (PULSE_URL)")
    parser.add_argument("--key", default=settings.api_key, help="API key (PULSE_API_KEY)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    # Also accepted after the command (`pulse show <id> --json`); SUPPRESS keeps the
    # top-level value when it is not repeated there.
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser(
        "run", parents=[json_flag], help="submit a goal and follow it to the end"
    )
    run_p.add_argument("goal")
    run_p.add_argument("--timeout", type=float, default=300.0)
    show_p = sub.add_parser("show", parents=[json_flag], help="show one run")
    show_p.add_argument("run_id")
    add_dlq_commands(sub, nats_url=settings.nats_url, json_flag=json_flag)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser(CliSettings()).parse_args(argv)

    async def go() -> int:
        if args.command == "dlq":
            return await run_dlq(args)
        async with PulseClient(args.url, args.key) as client:
            handler = _run if args.command == "run" else _show
            return await handler(args, client)

    try:
        return asyncio.run(go())
    except PulseApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"error: cannot reach the gateway at {args.url}: {exc}", file=sys.stderr)
        return 2
    except (NatsError, OSError) as exc:
        where = getattr(args, "nats_url", "NATS")
        print(f"error: NATS at {where}: {exc or type(exc).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
