"""The archive's schema: Alembic migrations run from code (no alembic.ini), and a readiness
check that refuses to call the archiver ready until the schema is at the newest revision.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TextIO

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaReadiness",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "upgrade",
    "upgrade_sql",
]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None, output: TextIO | None = None) -> Config:
    """Alembic's configuration built in code; the URL travels in `attributes`, not in an ini
    option, because a URL's `%`-escapes would trip ConfigParser interpolation."""
    config = Config(output_buffer=output, stdout=output or sys.stdout)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise RuntimeError(f"no Alembic revisions in {MIGRATIONS_DIR}")
    return head


def _run(connection: Connection, config: Config, upgrading: bool, revision: str) -> None:
    # env.py picks the connection up from here instead of opening its own.
    config.attributes["connection"] = connection
    if upgrading:
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the archive forward to `revision` in one transaction."""
    async with engine.begin() as conn:
        await conn.run_sync(_run, alembic_config(), True, revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, alembic_config(), False, revision)


def upgrade_sql(url: str, output: TextIO, revision: str = "head") -> None:
    """Write the SQL of the upgrade instead of running it (for review, or a DBA to apply)."""
    command.upgrade(alembic_config(url, output), revision, sql=True)


async def _current(conn: AsyncConnection) -> str | None:
    # Plain SQL rather than Alembic's MigrationContext, which logs two INFO lines each time
    # and would flood the log at every readiness probe.
    if (await conn.execute(text("SELECT to_regclass('alembic_version')"))).scalar() is None:
        return None
    revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return None if revision is None else str(revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await _current(conn)


class SchemaReadiness:
    """Readiness: PostgreSQL answers `SELECT 1` and its schema is at the head revision.

    Logs only when the answer changes, so a probe every few seconds does not flood the log.
    """

    def __init__(self, engine: AsyncEngine, timeout_s: float = 5.0) -> None:
        self._engine = engine
        self._timeout_s = timeout_s
        self._head = head_revision()
        self._last: str | None = None

    async def __call__(self) -> bool:
        try:
            current = await asyncio.wait_for(self._probe(), self._timeout_s)
        except Exception as exc:
            self._report(
                "unreachable",
                logging.WARNING,
                "PostgreSQL at %s is not reachable: %s",
                make_url(str(self._engine.url)).render_as_string(hide_password=True),
                exc,
            )
            return False
        if current != self._head:
            self._report(
                f"revision:{current}",
                logging.ERROR,
                "archive schema is at revision %s, not %s: run `pulse-archiver migrate`",
                current or "(none)",
                self._head,
            )
            return False
        self._report("ready", logging.INFO, "archive schema is at head revision %s", self._head)
        return True

    async def _probe(self) -> str | None:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            return await _current(conn)

    def _report(self, state: str, level: int, message: str, *args: object) -> None:
        if state != self._last:
            self._last = state
            log.log(level, message, *args)
