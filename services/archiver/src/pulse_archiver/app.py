"""Composition root: settings -> telemetry -> broker -> archive -> handlers -> app.

`pulse-archiver` serves (consumer + /healthz, /readyz, /metrics on port 8084);
`pulse-archiver migrate` brings the PostgreSQL schema to the newest revision first.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from faststream.asgi import AsgiFastStream
from sqlalchemy.engine import make_url

from pulse_archiver.adapters import (
    PostgresArchive,
    SchemaReadiness,
    create_archive_engine,
    upgrade,
    upgrade_sql,
)
from pulse_archiver.config import Settings
from pulse_archiver.handlers import register_handlers
from pulse_broker import (
    NatsBlobStore,
    build_broker,
    open_output_store,
    provision_all,
    serve,
    service_app,
)
from pulse_broker.bootstrap import provision_bus
from pulse_telemetry import configure_logging, setup_telemetry

__all__ = ["create_app", "main", "migrate"]

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    settings = settings or Settings()
    telemetry = setup_telemetry(settings)
    broker = build_broker(settings, telemetry)
    engine = create_archive_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        timeout_s=settings.database_timeout_s,
    )
    blobs = NatsBlobStore()
    archive = PostgresArchive(engine)
    register_handlers(broker, settings, archive, telemetry.registry, blobs)
    schema_ready = SchemaReadiness(engine, timeout_s=settings.database_timeout_s)

    async def provision() -> None:
        await provision_all(broker, settings)
        await open_output_store(broker, settings, blobs)

    async def report_schema() -> None:
        # Not fatal: events wait in the stream (redelivered with back-off) until the
        # schema is migrated, and /readyz says why the archiver is not ready meanwhile.
        await schema_ready()

    async def close_pool() -> None:
        await archive.close()
        await engine.dispose()

    return service_app(
        broker,
        telemetry,
        readiness=[("postgres", schema_ready)],
        on_startup=[provision, report_schema],
        on_shutdown=[close_pool],
    )


async def migrate(settings: Settings, revision: str = "head") -> None:
    """Upgrade the archive at `settings.database_url` to `revision`."""
    engine = create_archive_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        await upgrade(engine, revision)
    finally:
        await engine.dispose()


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pulse-archiver",
        description="Archive every Pulse run event in PostgreSQL. Without a command: serve.",
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="consume run events and serve /healthz, /readyz, /metrics")
    migrate_cmd = commands.add_parser(
        "migrate", help="upgrade the schema at PULSE_DATABASE_URL (Alembic)"
    )
    migrate_cmd.add_argument("--revision", default="head", help="target revision (default head)")
    migrate_cmd.add_argument(
        "--sql", action="store_true", help="print the SQL instead of running it"
    )
    provision_cmd = commands.add_parser(
        "provision",
        help="create or update every JetStream stream, KV bucket and object store at PULSE_NATS_URL",
    )
    provision_cmd.add_argument(
        "--wait-s", type=float, default=120.0, help="how long to wait for NATS to answer"
    )
    return parser.parse_args(argv)


def _provision(settings: Settings, wait_s: float) -> None:
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    try:
        asyncio.run(provision_bus(settings, wait_s=wait_s))
    except Exception:
        log.exception("provisioning the bus at %s failed", settings.nats_url)
        raise SystemExit(1) from None


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    settings = Settings()
    if args.command == "provision":
        _provision(settings, args.wait_s)
        return
    if args.command != "migrate":
        serve(create_app(settings), settings)
        return
    if args.sql:
        upgrade_sql(settings.database_url, sys.stdout, args.revision)
        return
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    log.info("migrating the archive at %s to %s", where, args.revision)
    try:
        asyncio.run(migrate(settings, args.revision))
    except Exception:
        log.exception("migrating the archive at %s failed", where)
        raise SystemExit(1) from None
    log.info("the archive at %s is at %s", where, args.revision)
