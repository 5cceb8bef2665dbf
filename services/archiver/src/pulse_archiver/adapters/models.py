"""The archive's tables as SQLAlchemy 2 typed declarative models.

The schema itself is created by the Alembic migrations in `pulse_archiver/migrations`; a
test checks that these models and the migrated schema agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pulse_contracts import JsonValue

__all__ = ["ApiKeyRecord", "ArchiveBase", "EventRecord", "RunRecord", "StepRecord"]

# Python None is SQL NULL (not JSON 'null'), so "missing" can be tested with IS NULL.
_JSON = JSONB(none_as_null=True)
# Exact decimal in the database, so cost roll-ups over many runs do not drift.
_USD = Numeric(20, 10, asdecimal=False)
_TIMESTAMP = DateTime(timezone=True)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ArchiveBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RunRecord(ArchiveBase):
    __tablename__ = "runs"
    __table_args__ = (Index(None, "tenant", "created_at"),)

    run_id: Mapped[str] = mapped_column(String, primary_key=True)
    tenant: Mapped[str] = mapped_column(String)
    prompt: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    planner: Mapped[str | None] = mapped_column(String)
    plan: Mapped[JsonValue] = mapped_column(_JSON, nullable=True)
    result: Mapped[JsonValue] = mapped_column(_JSON, nullable=True)
    error: Mapped[JsonValue] = mapped_column(_JSON, nullable=True)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_usd: Mapped[float] = mapped_column(_USD)
    trace_id: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(_TIMESTAMP)
    updated_at: Mapped[datetime] = mapped_column(_TIMESTAMP)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    state_seq: Mapped[int] = mapped_column(BigInteger)


class StepRecord(ArchiveBase):
    __tablename__ = "steps"

    run_id: Mapped[str] = mapped_column(
        String, ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    step_id: Mapped[str] = mapped_column(String, primary_key=True)
    tool: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    input: Mapped[JsonValue] = mapped_column(_JSON, nullable=True)
    output: Mapped[JsonValue] = mapped_column(_JSON, nullable=True)
    error: Mapped[JsonValue] = mapped_column(_JSON, nullable=True)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_usd: Mapped[float] = mapped_column(_USD)
    started_at: Mapped[datetime | None] = mapped_column(_TIMESTAMP)
    finished_at: Mapped[datetime | None] = mapped_column(_TIMESTAMP)
    duration_ms: Mapped[float | None] = mapped_column(Double)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class EventRecord(ArchiveBase):
    """Every event once, as received: the source the projections can be rebuilt from."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "run_id", "seq"),)

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    run_id: Mapped[str] = mapped_column(String)
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String)
    trace_id: Mapped[str | None] = mapped_column(String)
    occurred_at: Mapped[datetime] = mapped_column(_TIMESTAMP)
    payload: Mapped[JsonValue] = mapped_column(_JSON, nullable=False)
    archived_at: Mapped[datetime] = mapped_column(_TIMESTAMP, server_default=func.now())


class ApiKeyRecord(ArchiveBase):
    """A tenant's API key, as its SHA-256 only. Written by `pulse keys` (pulse-client),
    read by the gateway; the archiver owns the schema and nothing else about it."""

    __tablename__ = "api_keys"
    __table_args__ = (Index(None, "tenant"),)

    key_id: Mapped[str] = mapped_column(String, primary_key=True)
    tenant: Mapped[str] = mapped_column(String)
    name: Mapped[str | None] = mapped_column(String)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(_TIMESTAMP, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(_TIMESTAMP)
