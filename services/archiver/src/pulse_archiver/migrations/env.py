"""Alembic environment: runs on the connection `pulse_archiver.adapters.schema` hands over,
or opens an async engine itself when Alembic is driven some other way."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from pulse_archiver.adapters.models import ArchiveBase
from pulse_archiver.config import to_async_url

config = context.config
target_metadata = ArchiveBase.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = config.attributes.get("url")
    if not url:
        raise RuntimeError("no database URL: pass it in the Alembic config's attributes['url']")
    return to_async_url(str(url))


async def _run_with_own_engine() -> None:
    engine = create_async_engine(_url())
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_configure_and_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    _configure_and_run(connection)
else:
    asyncio.run(_run_with_own_engine())
