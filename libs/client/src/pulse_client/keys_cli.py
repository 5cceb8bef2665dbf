"""`pulse keys ...` — tenants' API keys, talking to the archive's PostgreSQL directly.

    pulse keys create --tenant T [--name N] [--json]   (prints the key once)
    pulse keys list [--tenant T] [--all] [--json]
    pulse keys revoke ID [ID ...] [--json]

The database comes from `--database-url` or PULSE_DATABASE_URL. Gateways notice a revoked
key within their PULSE_API_KEY_CACHE_S (10 s by default).
"""

from __future__ import annotations

import argparse
import json
import sys

from pulse_client.keys import ApiKeyNotFound, ApiKeyStore, StoredApiKey
from pulse_contracts import JsonValue

__all__ = ["add_key_commands", "render_keys", "run_keys"]


def add_key_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    database_url: str,
    json_flag: argparse.ArgumentParser,
) -> None:
    keys = commands.add_parser(
        "keys",
        help="create, list and revoke tenants' API keys (talks to PostgreSQL)",
        description="API keys in the archive's `api_keys` table, stored as SHA-256 only.",
    )
    keys.add_argument("--database-url", default=database_url, help="PULSE_DATABASE_URL")
    common = argparse.ArgumentParser(add_help=False, parents=[json_flag])
    common.add_argument("--database-url", default=argparse.SUPPRESS, help="PostgreSQL URL")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    create = actions.add_parser("create", parents=[common], help="make a key (shown once)")
    create.add_argument("--tenant", required=True, help="the tenant the key acts for")
    create.add_argument("--name", help="what the key is for, e.g. `ci` or `billing-service`")
    listing = actions.add_parser("list", parents=[common], help="list keys (never the keys)")
    listing.add_argument("--tenant", help="only this tenant's")
    listing.add_argument("--all", action="store_true", help="revoked keys too")
    revoke = actions.add_parser("revoke", parents=[common], help="revoke keys for good")
    revoke.add_argument("ids", nargs="+", metavar="id")


def render_keys(keys: list[StoredApiKey]) -> str:
    if not keys:
        return "no API keys"
    rows = [("ID", "TENANT", "NAME", "KEY", "CREATED (UTC)", "STATE")]
    for key in keys:
        state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        rows.append(
            (
                key.key_id,
                key.tenant,
                key.name or "-",
                f"{key.prefix}…",
                f"{key.created_at:%Y-%m-%d %H:%M:%S}",
                state,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _print_json(value: JsonValue) -> None:
    print(json.dumps(value, indent=2))


async def _create(args: argparse.Namespace, store: ApiKeyStore) -> int:
    created = await store.create(args.tenant, name=args.name)
    if args.json:
        _print_json({**created.stored.to_json(), "key": created.key})
    else:
        print(
            f"key {created.stored.key_id} for tenant {created.stored.tenant}:\n\n  {created.key}\n"
        )
        print("Store it now: it is not shown again (only its SHA-256 is kept).")
    return 0


async def _list(args: argparse.Namespace, store: ApiKeyStore) -> int:
    keys = await store.list(tenant=args.tenant, include_revoked=args.all)
    if args.json:
        _print_json([key.to_json() for key in keys])
    else:
        print(render_keys(keys))
    return 0


async def _revoke(args: argparse.Namespace, store: ApiKeyStore) -> int:
    done: list[JsonValue] = []
    failed = 0
    for key_id in args.ids:
        try:
            revoked = await store.revoke(key_id)
        except ApiKeyNotFound as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        done.append(revoked.to_json())
        if not args.json:
            print(f"key {revoked.key_id} (tenant {revoked.tenant}) revoked")
    if args.json:
        _print_json(done)
    return 1 if failed else 0


async def run_keys(args: argparse.Namespace) -> int:
    handlers = {"create": _create, "list": _list, "revoke": _revoke}
    async with ApiKeyStore(args.database_url) as store:
        return await handlers[args.keys_command](args, store)
