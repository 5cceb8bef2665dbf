"""Alembic migrations of the archive; run them with `pulse-archiver migrate`."""
