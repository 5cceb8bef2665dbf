"""`pulse` — run goals and operate Pulse from a terminal.

    pulse run "calculate 5 * 3, add the result as a todo, then list all todos"
    pulse runs [--status S] [--since T] [--search TEXT] [--cursor C]
    pulse show|cancel|restart <run_id>
    pulse trace <run_id> [--html FILE] [--wait S]   (the run's waterfall and trace id)
    pulse tools | status | usage
    pulse keys create|list|revoke ...      (API keys; see pulse_client.keys_cli)
    pulse dlq list|show|replay|purge ...   (dead letters; see pulse_client.dlq_cli)

`--json` gives machine-readable output everywhere. The gateway URL and API key come from
`--url`/`--key` or PULSE_URL / PULSE_API_KEY; `dlq` talks to NATS (`--nats-url`,
PULSE_NATS_URL) and `keys` to PostgreSQL (`--database-url`, PULSE_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import httpx
from asyncpg import PostgresError
from nats.errors import Error as NatsError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pulse_client.client import PulseApiError
from pulse_client.dlq_cli import add_dlq_commands, run_dlq
from pulse_client.keys_cli import add_key_commands, run_keys
from pulse_client.runs_cli import add_run_commands, run_command

__all__ = ["main"]


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")
    url: str = Field(default="http://127.0.0.1:8080")
    api_key: str = Field(default="pulse-dev-key")
    nats_url: str = Field(default="nats://127.0.0.1:4222")
    database_url: str = Field(default="postgresql://postgres@127.0.0.1:5432/pulse")


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
    add_run_commands(sub, json_flag=json_flag)
    add_key_commands(sub, database_url=settings.database_url, json_flag=json_flag)
    add_dlq_commands(sub, nats_url=settings.nats_url, json_flag=json_flag)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser(CliSettings()).parse_args(argv)

    async def go() -> int:
        if args.command == "dlq":
            return await run_dlq(args)
        if args.command == "keys":
            return await run_keys(args)
        return await run_command(args)

    try:
        return asyncio.run(go())
    except PulseApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"error: cannot reach the gateway at {args.url}: {exc}", file=sys.stderr)
        return 2
    except PostgresError as exc:
        print(f"error: PostgreSQL: {exc}", file=sys.stderr)
        if "api_keys" in str(exc):
            print("  (run `pulse-archiver migrate` first)", file=sys.stderr)
        return 2
    except (NatsError, OSError) as exc:
        where = getattr(args, "nats_url", None) or getattr(args, "database_url", "NATS")
        print(f"error: {where}: {exc or type(exc).__name__}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
