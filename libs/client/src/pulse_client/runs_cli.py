"""`pulse run|runs|show|trace|cancel|restart|tools|status|usage` — the gateway's HTTP API
from a terminal. Every command takes `--json` for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from pulse_client.client import PulseApiError, PulseClient, RunView
from pulse_client.progress import Progress
from pulse_client.render import render_run, render_runs, render_status, render_tools, short
from pulse_client.trace_cli import add_trace_command, trace
from pulse_contracts import JsonValue

__all__ = ["RUN_COMMANDS", "add_run_commands", "parse_when", "run_command"]

Handler = Callable[[argparse.Namespace, PulseClient], Awaitable[int]]


def _print_json(value: JsonValue) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


async def _run(args: argparse.Namespace, client: PulseClient) -> int:
    progress = Progress()
    created = await client.create_run(args.goal, idempotency_key=args.idempotency_key)
    run_id = str(created["run_id"])
    if args.detach:
        _print_json(created) if args.json else print(run_id)
        return 0
    if not args.json:
        print(f"run {run_id} submitted (trace {created.get('trace_id')})", flush=True)
    async for event in client.events(run_id):
        if not args.json and (line := progress.line(event)) is not None:
            print(line, flush=True)
    run = await client.get_run(run_id)
    if args.json:
        _print_json(run)
    else:
        print(render_run(run))
    return 0 if run["status"] == "completed" else 1


async def _runs(args: argparse.Namespace, client: PulseClient) -> int:
    page = await client.list_runs(
        status=args.status or (),
        since=args.since,
        until=args.until,
        text=args.search,
        limit=args.limit,
        cursor=args.cursor,
    )
    if args.json:
        _print_json(page)
    else:
        runs = cast(list[RunView], page["runs"])
        print(render_runs(runs, cast(str | None, page.get("next_cursor"))))
    return 0


async def _show(args: argparse.Namespace, client: PulseClient) -> int:
    run = await client.get_run(args.run_id)
    print(json.dumps(run, indent=2, ensure_ascii=False) if args.json else render_run(run))
    return 0


def _control(verb: str) -> Handler:
    async def handler(args: argparse.Namespace, client: PulseClient) -> int:
        act = client.cancel_run if verb == "cancel" else client.restart_run
        run = await act(args.run_id)
        if args.json:
            _print_json(run)
        else:
            print(f"{verb} requested for run {run['run_id']} (it was {run['status']})")
        return 0

    return handler


async def _tools(args: argparse.Namespace, client: PulseClient) -> int:
    tools = await client.tools()
    _print_json(cast(JsonValue, tools)) if args.json else print(render_tools(tools))
    return 0


async def _status(args: argparse.Namespace, client: PulseClient) -> int:
    status = await client.status()
    _print_json(status) if args.json else print(render_status(status))
    return 0 if status.get("status") == "ok" else 1


async def _usage(args: argparse.Namespace, client: PulseClient) -> int:
    usage = await client.usage(since=args.since, until=args.until)
    if args.json:
        _print_json(usage)
    else:
        by_status = cast(dict[str, int], usage.get("by_status") or {})
        counts = ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())) or "none"
        print(
            f"tenant {usage['tenant']}: {usage['runs']} runs ({counts}); "
            f"{usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion tokens, "
            f"${float(cast(float, usage['cost_usd'])):.6f}"
        )
    return 0


RUN_COMMANDS: dict[str, Handler] = {
    "run": _run,
    "runs": _runs,
    "show": _show,
    "trace": trace,
    "cancel": _control("cancel"),
    "restart": _control("restart"),
    "tools": _tools,
    "status": _status,
    "usage": _usage,
}


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(value: str, *, now: datetime | None = None) -> datetime:
    """An ISO 8601 time, or an age such as `90s`, `15m`, `2h`, `7d` counted back from now.

    On-call asks "what failed in the last quarter hour", not "since 02:47:13Z".
    """
    text = value.strip()
    unit = _UNITS.get(text[-1:].lower())
    if unit is not None and text[:-1].replace(".", "", 1).isdigit():
        return (now or datetime.now(UTC)) - timedelta(seconds=float(text[:-1]) * unit)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time nor an age like 15m: {value!r}"
        ) from None


def add_run_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    json_flag: argparse.ArgumentParser,
) -> None:
    run = commands.add_parser(
        "run", parents=[json_flag], help="submit a goal and follow it live to the end"
    )
    run.add_argument("goal")
    run.add_argument("--idempotency-key", help="the same key again returns the same run")
    run.add_argument("--detach", action="store_true", help="print the run id and return")
    runs = commands.add_parser("runs", parents=[json_flag], help="list your runs, newest first")
    runs.add_argument(
        "--status", action="append", help="only this status (repeatable): submitted, working, ..."
    )
    runs.add_argument(
        "--since", type=parse_when, help="created at or after (ISO 8601, or an age: 15m, 2h, 7d)"
    )
    runs.add_argument("--until", type=parse_when, help="created before (ISO 8601, or an age)")
    runs.add_argument("--search", help="text the goal contains")
    runs.add_argument("--limit", type=int, default=20, help="runs per page (1-100)")
    runs.add_argument("--cursor", help="next page: the cursor the previous page printed")
    show = commands.add_parser("show", parents=[json_flag], help="one run in full")
    show.add_argument("run_id")
    add_trace_command(commands, json_flag=json_flag)
    for verb, text in (("cancel", "cancel a run"), ("restart", "restart a failed or canceled run")):
        parser = commands.add_parser(verb, parents=[json_flag], help=text)
        parser.add_argument("run_id")
    commands.add_parser("tools", parents=[json_flag], help="the tools goals can use")
    commands.add_parser(
        "status", parents=[json_flag], help="each component's health and lag (exit 1 if degraded)"
    )
    usage = commands.add_parser("usage", parents=[json_flag], help="your runs, tokens and cost")
    usage.add_argument("--since", type=parse_when)
    usage.add_argument("--until", type=parse_when)


async def run_command(args: argparse.Namespace) -> int:
    async with PulseClient(args.url, args.key) as client:
        try:
            return await RUN_COMMANDS[args.command](args, client)
        except PulseApiError as exc:
            detail = exc.problem.get("detail") or exc.problem.get("title") or ""
            print(f"error: {exc.status} {short(detail, 300)}", file=sys.stderr)
            return 2
