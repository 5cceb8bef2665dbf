"""Query-string values checked beyond their type: search text that is safe to search with
(no NUL, which PostgreSQL text cannot hold, and nothing that is not valid Unicode), and
times that must be written as ISO 8601 (pydantic would also read `0.5` as a Unix time)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, StringConstraints

__all__ = ["IsoDateTime", "SearchText", "iso_only", "searchable"]

_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}")


def searchable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode") from None
    return value


SearchText = Annotated[
    str,
    # The pattern documents (and checks) the NUL rule in the schema, for clients to see.
    StringConstraints(max_length=200, pattern=r"^[^\x00]*$"),
    AfterValidator(searchable),
]


def iso_only(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2025-01-31T12:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(iso_only)]
