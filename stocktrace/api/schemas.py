"""The types request schemas are made of. Each states its whole rule in the OpenAPI document (lengths,
patterns, ranges), so that whatever the document allows the server takes, and whatever it refuses the
server refuses: the document is the contract clients are generated from."""

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
    model_validator,
)

from stocktrace.core.codes import code_pattern
from stocktrace.core.decimals import DECIMAL_LIMIT, INTEGER_DIGITS, decimal_parse

# The RefuseNul middleware refuses a NUL anywhere in a request; this says so on every text a schema takes.
WITHOUT_NUL = "^[^\\u0000]*$"
# Some character that is not a space (as str.strip() sees spaces), spelled out so that Python, Rust (pydantic)
# and ECMA-262 (the document's dialect) agree on it.
_SPACES = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"


def containing(character_class: str) -> str:
    """Text with at least one character of the class, and no NUL."""
    return f"^[^\\u0000]*{character_class}[^\\u0000]*$"


NOT_BLANK = containing(f"[^{_SPACES}\\u0000]")


def _document_text_rules(schema: dict[str, Any]) -> None:
    """Add WITHOUT_NUL to each free-text property (one without a pattern, an enum or a format of its own)."""
    for prop in schema.get("properties", {}).values():
        for branch in [prop, *prop.get("anyOf", []), prop.get("items", {})]:
            if branch.get("type") == "string" and not {"pattern", "enum", "format", "const"} & branch.keys():
                branch["pattern"] = WITHOUT_NUL


class Input(Schema):
    """Request bodies: a JSON object (a number or a list is a 422, not an empty change), unknown fields refused
    so a typo is an error rather than a silent no-op."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_text_rules)

    @model_validator(mode="wrap")
    @classmethod
    def _an_object(cls, data, handler):
        # ninja's Schema reads any object's attributes (from_attributes), so a bare number had no fields to
        # refuse and passed as an empty body.
        if not isinstance(data, dict) and not isinstance(data, cls):
            raise ValueError("The body must be a JSON object")
        return handler(data)


def _document_query(schema: dict[str, Any]) -> None:
    """A query string cannot carry JSON null: a parameter is given or left out (`X | None = None` in Python)."""
    for prop in schema.get("properties", {}).values():
        branches = [b for b in prop.get("anyOf", []) if b != {"type": "null"}]
        if len(branches) == 1 and len(prop["anyOf"]) == 2:
            del prop["anyOf"]
            # ninja puts an enum's own schema in place of a $ref and drops what stood beside it (a default);
            # docs/api.md states those defaults (dead letters: status=dead)
            prop.update(branches[0])
    _document_text_rules(schema)


class Filters(Schema):
    """Query parameters of a list."""

    model_config = ConfigDict(json_schema_extra=_document_query)


# Ids in a path or a query (text by nature, so "12" is 12), bounded so an absurd number answers 422 instead of
# overflowing the database driver.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]
# An id in a JSON body: a JSON integer (12 or 12.0, which JSON Schema counts as an integer), never "12".
ObjectRef = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]

# JSON true/false only: 0, 1 or "yes" are errors, not silently coerced.
Flag = StrictBool

# A list's position: the id the previous page ended at, as the API handed it out in `next_cursor`.
Cursor = Annotated[str, Field(pattern=r"^[0-9]{1,18}$", description="`next_cursor` of the previous page")]


def code_field(max_length: int = 64, **kwargs) -> Any:
    """A SKU, location code, site code or barcode: printable ASCII without spaces (core.codes)."""
    return Field(pattern=code_pattern(max_length), min_length=1, max_length=max_length, **kwargs)


def one_of(names: Callable[[], Iterable[str]], **kwargs) -> Any:
    """Text that must be one of a list only known once every app is loaded (event names, handlers): the list
    is read when the document is built. The service checks membership."""

    def enum(schema: dict) -> None:
        schema["enum"] = sorted(names())

    return Field(json_schema_extra=enum, **kwargs)


def name_field(max_length: int, default: Any = ..., **kwargs) -> Any:
    """A name: some character that is not a space (it is stored trimmed)."""
    return Field(default, min_length=1, max_length=max_length, pattern=NOT_BLANK, **kwargs)


# An e-mail address: a dot-atom local part and an ASCII domain name, a subset of what Django's validator takes
# (quoted local parts, IP-literal and non-ASCII domains are refused).
_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = f"^{_ATOM}(?:\\.{_ATOM})*@(?:{_LABEL}\\.)+[A-Za-z]{{2,63}}$"
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, min_length=3, max_length=254, description="an e-mail address")]

_ISO_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_text(value):
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE_ONLY.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


# A calendar date as "YYYY-MM-DD": a number (which pydantic would read as Unix time) or a date-time is refused.
PlainDate = Annotated[date, BeforeValidator(_iso_date_text)]


def _decimal_rule(places: int, *, negative: bool, zero: bool):
    def check(value):
        number = decimal_parse(value, places)
        if number < 0 and not negative:
            raise ValueError("cannot be negative")
        if number == 0 and not zero:
            raise ValueError("cannot be zero")
        return number

    return check


def _decimal_schema(places: int, *, negative: bool, zero: bool, description: str) -> dict:
    sign = "-?" if negative else ""
    digits = f"^{sign}[0-9]{{1,{INTEGER_DIGITS}}}(\\.[0-9]{{1,{places}}})?$"
    text: dict[str, Any] = {"type": "string", "pattern": digits}
    number: dict[str, Any] = {"type": "number", "multipleOf": float(Decimal(1).scaleb(-places)),
                              "exclusiveMaximum": float(DECIMAL_LIMIT)}
    if negative:
        number["exclusiveMinimum"] = -float(DECIMAL_LIMIT)
    elif zero:
        number["minimum"] = 0
    else:
        number["exclusiveMinimum"] = 0
    if not zero:
        text["not"] = {"pattern": "^-?[0.]+$"}
        if negative:
            number["not"] = {"const": 0}
    return {"anyOf": [text, number], "description": description}


def decimal(places: int, *, negative: bool = False, zero: bool = True, description: str = "") -> Any:
    """A quantity (3 places) or an amount of money (4 places): a string of ASCII digits or a JSON number, read
    exactly (never as floating point), under 100 billion."""
    described = description or f"a decimal with at most {places} places, as a string or a JSON number"
    return Annotated[Decimal, BeforeValidator(_decimal_rule(places, negative=negative, zero=zero)),
                     WithJsonSchema(_decimal_schema(places, negative=negative, zero=zero, description=described))]


Quantity = decimal(3, zero=False, description="more than zero, at most 3 decimal places")
SignedQuantity = decimal(3, negative=True, zero=False,
                         description="not zero, at most 3 decimal places: + found, - damaged or lost")
Level = decimal(3, description="zero or more, at most 3 decimal places")
Money = decimal(4, description="zero or more, at most 4 decimal places")
Percent = decimal(2, description="zero or more, at most 2 decimal places")


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
    """Converted to UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 (and pydantic) allow. The year
    as written must lie in TIMESTAMP_YEARS (so the document can say it), which keeps the conversion inside
    the range a datetime holds (9999-12-31 with a negative offset overflowed: a 500)."""
    low, high = TIMESTAMP_YEARS
    if not low <= value.year <= high:
        raise ValueError(f"Give a time between the years {low} and {high}")
    return value.astimezone(UTC)


_YEARS_1900_TO_9998 = "^(19[0-9]{2}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text_only), AfterValidator(_to_utc),
                      WithJsonSchema({"type": "string", "format": "date-time", "pattern": _YEARS_1900_TO_9998,
                                      "description": "ISO 8601 with a time zone, years 1900-9998"})]


class StartedOut(Schema):
    """A job started for the caller: follow it at `progress_url`."""

    task_id: str
    progress_url: str

    @classmethod
    def of(cls, task_id: str) -> dict:
        return {"task_id": task_id, "progress_url": f"/api/v1/jobs/{task_id}/progress"}
