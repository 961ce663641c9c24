import re
from datetime import UTC, datetime
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, ConfigDict, Field, StrictBool


class Input(Schema):
    """Request bodies refuse unknown fields, so a typo is an error rather than a silent no-op."""

    model_config = ConfigDict(extra="forbid")


# Ids are bounded so an absurd number answers 422 instead of overflowing the database driver.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]

# JSON true/false only: 0, 1 or "yes" are errors, not silently coerced.
Flag = StrictBool


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_text_only(value):
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date-time with a time zone, e.g. 2026-01-31T17:00:00Z")
    return value


# ISO 8601 with a time zone: a bare number (Unix time) or a zone-less time is refused, never guessed.
TIMESTAMP_YEARS = (1900, 9998)  # a sane range; 9999-12-31 with a negative offset is past what a datetime holds


def _to_utc(value: datetime) -> datetime:
    """Converted to UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 (and pydantic) allow. A time whose
    conversion leaves the range a datetime holds, or outside TIMESTAMP_YEARS, is refused (422), not a 500."""
    try:
        converted = value.astimezone(UTC)
    except OverflowError:
        converted = None
    low, high = TIMESTAMP_YEARS
    if converted is None or not low <= converted.year <= high:
        raise ValueError(f"Give a time between the years {low} and {high}")
    return converted


Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text_only), AfterValidator(_to_utc)]


class StartedOut(Schema):
    """A job started for the caller: follow it at `progress_url`."""

    task_id: str
    progress_url: str

    @classmethod
    def of(cls, task_id: str) -> dict:
        return {"task_id": task_id, "progress_url": f"/api/v1/jobs/{task_id}/progress"}
