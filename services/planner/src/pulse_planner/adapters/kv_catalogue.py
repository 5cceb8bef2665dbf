"""The tool catalogue from the `pulse_tools` KV bucket the agent-adapter fills."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError
from pydantic import ValidationError

from pulse_contracts import ToolSpec, subjects
from pulse_planner.domain.catalogue import SchemaCatalogue, builtin_catalogue

__all__ = ["KvCatalogue"]

log = logging.getLogger(__name__)


class KvCatalogue:
    """Reads every `ToolSpec` in `KV_TOOLS`, at most once per `refresh_s`.

    Until the agent-adapter has published a catalogue (the bucket is missing or empty) the
    built-in one is used. When the bucket cannot be read, the last catalogue read stays in
    use: planning does not stop because NATS hiccupped.
    """

    def __init__(
        self,
        jetstream: Callable[[], Awaitable[JetStreamContext]],
        *,
        refresh_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jetstream = jetstream
        self._refresh_s = refresh_s
        self._clock = clock
        self._current: SchemaCatalogue | None = None
        self._read_at = 0.0

    async def catalogue(self) -> SchemaCatalogue:
        if self._current is not None and self._clock() - self._read_at < self._refresh_s:
            return self._current
        try:
            specs = await self._read()
        except (NatsError, OSError, TimeoutError) as exc:
            log.warning("tool catalogue unreadable, keeping the last one: %s", exc)
            specs = None
        if specs is None:
            fresh = self._current or builtin_catalogue()
        else:
            fresh = SchemaCatalogue(specs) if specs else builtin_catalogue()
        if self._current is None or fresh.version != self._current.version:
            log.info("tool catalogue %s: %s", fresh.version, ", ".join(fresh.names()) or "(empty)")
        self._current, self._read_at = fresh, self._clock()
        return fresh

    async def _read(self) -> list[ToolSpec]:
        js = await self._jetstream()
        try:
            kv = await js.key_value(subjects.KV_TOOLS)
        except (BucketNotFoundError, NotFoundError):
            return []
        watcher = await kv.watchall(ignore_deletes=True)
        specs: list[ToolSpec] = []
        try:
            async for entry in watcher:
                if entry is None:
                    break  # the watcher's marker: everything stored has been delivered
                if not entry.value:
                    continue
                try:
                    specs.append(ToolSpec.model_validate_json(entry.value))
                except ValidationError:
                    log.warning("skipping tool %r: not a valid ToolSpec", entry.key)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        return specs
