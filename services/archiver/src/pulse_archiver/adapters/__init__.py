"""The archiver's outside world: the `Archive` protocol, PostgreSQL and in-memory archives,
the SQLAlchemy models and the Alembic-managed schema, and reading values stored by
reference in the object store."""

from pulse_archiver.adapters.archive import Archive
from pulse_archiver.adapters.memory import InMemoryArchive
from pulse_archiver.adapters.postgres import PostgresArchive, create_archive_engine
from pulse_archiver.adapters.schema import (
    SchemaReadiness,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
    upgrade_sql,
)
from pulse_archiver.adapters.stored import read_stored

__all__ = [
    "Archive",
    "InMemoryArchive",
    "PostgresArchive",
    "SchemaReadiness",
    "create_archive_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "read_stored",
    "upgrade",
    "upgrade_sql",
]
