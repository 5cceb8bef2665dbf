"""`pulse dlq ...` — operate the dead-letter queue from a terminal, talking to NATS directly.

    pulse dlq list [--consumer NAME] [--limit N] [--after ID] [--json]
    pulse dlq show ID [--json]
    pulse dlq replay ID [ID ...] [--json]
    pulse dlq purge ID [ID ...] [--json]

The NATS URL comes from `--nats-url` or PULSE_NATS_URL.
"""

from __future__ import annotations

import argparse
import json
import sys

from pulse_client.dlq import DeadLetterNotFound, DeadLetters, LetterNotReplayable, StoredLetter
from pulse_client.render import short
from pulse_contracts import JsonValue

__all__ = ["add_dlq_commands", "render_letter", "render_letters", "run_dlq"]


def add_dlq_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    nats_url: str,
    json_flag: argparse.ArgumentParser,
) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="list, show, replay and purge dead letters (talks to NATS)",
        description="Dead letters in PULSE_DLQ. A letter's id is its sequence in that stream.",
    )
    dlq.add_argument("--nats-url", default=nats_url, help="NATS server(s) (PULSE_NATS_URL)")
    # Accepted after the action too; SUPPRESS keeps the value above when it is not given.
    common = argparse.ArgumentParser(add_help=False, parents=[json_flag])
    common.add_argument("--nats-url", default=argparse.SUPPRESS, help="NATS server(s)")
    actions = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = actions.add_parser("list", parents=[common], help="list letters, oldest first")
    listing.add_argument("--consumer", help="only the letters of this durable consumer")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.add_argument("--after", type=int, default=0, help="only ids above this (paging)")
    show = actions.add_parser("show", parents=[common], help="one letter in full")
    show.add_argument("id", type=int)
    replay = actions.add_parser(
        "replay",
        parents=[common],
        help="republish the original message to its subject, then delete the letter",
    )
    replay.add_argument("ids", type=int, nargs="+", metavar="id")
    purge = actions.add_parser("purge", parents=[common], help="delete letters for good")
    purge.add_argument("ids", type=int, nargs="+", metavar="id")


def render_letters(letters: list[StoredLetter], total: int) -> str:
    if not letters:
        return f"no dead letters ({total} in total)"
    rows = [("ID", "STORED (UTC)", "CONSUMER", "SUBJECT", "DELIV", "ERROR")]
    for stored in letters:
        letter = stored.letter
        when = stored.stored_at.strftime("%Y-%m-%d %H:%M:%S") if stored.stored_at else "-"
        error = f"{letter.error.code.value}: {short(letter.error.message, 60)}"
        subject = letter.original_subject or "-"
        rows.append((str(stored.id), when, letter.consumer, subject, str(letter.deliveries), error))
    # The last column (the error) is not padded: it is as long as it is.
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]
    shown = f"{len(letters)} of {total} letters"
    more = f"; next page: --after {letters[-1].id}" if len(letters) < total else ""
    return "\n".join([*lines, f"({shown}{more})"])


def render_letter(stored: StoredLetter) -> str:
    letter = stored.letter
    error = letter.error
    owner = ", ".join(f"{k}={v}" for k, v in (("run", error.run_id), ("step", error.step_id)) if v)
    lines = [
        f"letter {stored.id}  consumer={letter.consumer}  deliveries={letter.deliveries}",
        f"  stored:   {stored.stored_at.isoformat() if stored.stored_at else '-'}",
        f"  subject:  {letter.original_subject or '-'}",
        f"  error:    {error.code.value}{f' ({owner})' if owner else ''}",
        *(f"            {line}" for line in error.message.splitlines()),
        "  headers:",
        *(f"    {k}: {v}" for k, v in sorted(letter.headers.items())),
        "  payload:",
        f"    {letter.payload}",
    ]
    return "\n".join(lines)


def _print_json(value: JsonValue) -> None:
    print(json.dumps(value, indent=2))


async def _list(args: argparse.Namespace, dlq: DeadLetters) -> int:
    letters = await dlq.letters(consumer=args.consumer, limit=args.limit, after=args.after)
    counts = await dlq.counts()
    total = counts.get(args.consumer, 0) if args.consumer else sum(counts.values())
    if args.json:
        _print_json([stored.to_json() for stored in letters])
    else:
        print(render_letters(letters, total))
    return 0


async def _show(args: argparse.Namespace, dlq: DeadLetters) -> int:
    stored = await dlq.get(args.id)
    if args.json:
        _print_json(stored.to_json())
    else:
        print(render_letter(stored))
    return 0


async def _replay(args: argparse.Namespace, dlq: DeadLetters) -> int:
    done: list[JsonValue] = []
    failed = 0
    for letter_id in args.ids:
        try:
            replayed = await dlq.replay(letter_id)
        except (DeadLetterNotFound, LetterNotReplayable) as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        done.append(replayed.to_json())
        if not args.json:
            note = " (already replayed: dropped as a duplicate)" if replayed.duplicate else ""
            print(
                f"letter {letter_id} replayed to {replayed.subject} "
                f"({replayed.stream} seq {replayed.sequence}){note}; letter deleted"
            )
    if args.json:
        _print_json(done)
    return 1 if failed else 0


async def _purge(args: argparse.Namespace, dlq: DeadLetters) -> int:
    done: list[JsonValue] = []
    failed = 0
    for letter_id in args.ids:
        try:
            await dlq.purge(letter_id)
        except DeadLetterNotFound as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        done.append({"id": letter_id, "purged": True})
        if not args.json:
            print(f"letter {letter_id} purged")
    if args.json:
        _print_json(done)
    return 1 if failed else 0


async def run_dlq(args: argparse.Namespace) -> int:
    """Run one `pulse dlq` command; exit status 1 when a letter was not found."""
    handlers = {"list": _list, "show": _show, "replay": _replay, "purge": _purge}
    async with DeadLetters(args.nats_url) as dlq:
        try:
            return await handlers[args.dlq_command](args, dlq)
        except DeadLetterNotFound as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
