"""The writer's connection: borrowed from the engine's pool once and kept between batches.

Checking a connection out per batch would pre-ping it every time — three round trips, more
than a whole batch of one event costs. The connection is kept instead. A batch that finds
it gone (PostgreSQL restarted, the network dropped it) is written once more on a fresh
one, which the pool pre-pings; writes are idempotent (keyed by event id), so even a batch
whose commit was lost on the way is safe to write again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["HeldConnection"]

log = logging.getLogger(__name__)

Result = TypeVar("Result")

# Failures of the connection rather than of a statement: the client's own (closed socket,
# protocol state after the server hung up, timeout), class 08 and class 57 (the server
# shutting down or restarting: admin_shutdown, crash_shutdown, cannot_connect_now).
_LOST = (
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    OSError,
    asyncio.TimeoutError,
)


class HeldConnection:
    """One asyncpg connection for one writer at a time (the group commit's)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._held: AsyncConnection | None = None

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[Result]]) -> Result:
        """`work` on the kept connection; once more on a fresh one if the kept one is gone."""
        while True:
            fresh = self._held is None
            connection = await self._checkout()
            if connection.is_closed() and not fresh:  # it saw the server hang up while idle
                await self._drop()
                continue
            try:
                return await work(connection)
            except _LOST as exc:
                await self._drop()
                if fresh:
                    raise  # a connection just pinged failed: PostgreSQL is not there
                log.info("the archive's connection was lost (%s); writing again on a new one", exc)
            except asyncpg.PostgresError:
                raise  # the server refused a statement, rolled back: the connection is fine
            except BaseException:
                # Cancelled mid-statement, or a fault of ours: the connection's state is unknown.
                await self._drop()
                raise

    async def _checkout(self) -> asyncpg.Connection:
        if self._held is None:
            self._held = await self._engine.connect()  # the pool pre-pings it
        pooled = await self._held.get_raw_connection()
        driver: asyncpg.Connection = pooled.driver_connection
        return driver

    async def _drop(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        try:
            await held.invalidate()
            await held.close()
        except Exception as exc:  # the connection is broken already; nothing to save
            log.debug("discarding the archive's connection: %s", exc)

    async def close(self) -> None:
        """Give the connection back to the pool (before the engine is disposed)."""
        held, self._held = self._held, None
        if held is not None:
            await held.close()
