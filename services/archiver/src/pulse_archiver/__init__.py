"""pulse-archiver: consumes every run event and archives runs, steps and events in PostgreSQL.

Idempotent (each event is stored once, keyed by its message id) and order-independent
(per-column merge rules guarded by the events' `seq`); the schema comes from Alembic
migrations run with `pulse-archiver migrate`.
"""

from pulse_archiver.app import create_app, main
from pulse_archiver.config import Settings

__all__ = ["Settings", "create_app", "main"]
