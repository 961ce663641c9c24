"""Turning one cell of a CSV or XLSX row into a typed value, or an InvalidInput saying why not.

CSV cells are text. XLSX cells come from openpyxl typed: str, int, float, bool, datetime. A float is
read back as the shortest decimal that round-trips to it (repr), which is the number the cell shows:
1.25 stays 1.25, and a formula result such as 0.30000000000000004 has too many places and is refused.
No value ever becomes a float on our side.
"""

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from stocktrace.core.codes import clean_code
from stocktrace.core.errors import InvalidInput
from stocktrace.inventory.quantities import money, quantity

_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # ASCII digits only: \d takes any script's
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


def _float_decimal(value: float, column: str) -> Decimal:
    try:
        number = Decimal(repr(value))
    except InvalidOperation as error:  # pragma: no cover (repr of a float is always a number)
        raise InvalidInput(f"{value!r} is not a number", field=column) from error
    if not number.is_finite():
        raise InvalidInput(f"{value!r} is not a number", field=column)
    return number


def text(value) -> str:
    """Any cell as trimmed text ('' when empty)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        number = _float_decimal(value, "")
        return format(number.normalize() if number == number.to_integral() else number, "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def limited(value, column: str, max_length: int) -> str:
    result = text(value)
    if len(result) > max_length:
        raise InvalidInput(f"at most {max_length} characters (this has {len(result)})", field=column)
    return result


def code(value, column: str) -> str:
    """A SKU, location code or barcode: the inventory's rule for codes ('' when empty)."""
    result = text(value)
    return clean_code(result, column) if result else ""


def _number(value, column: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{value} is not a number", field=column)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return _float_decimal(value, column)
    if isinstance(value, Decimal):
        return value
    raw = text(value)
    if not raw:
        return None
    if not _PLAIN_DECIMAL.fullmatch(raw):
        raise InvalidInput(f"{raw!r} is not a number (write it like 12 or 12.5, with a point)", field=column)
    return Decimal(raw)


def qty(value, column: str, *, positive: bool = False) -> Decimal | None:
    """A quantity: at most 3 decimal places, never negative; zero only when not `positive`."""
    number = _number(value, column)
    if number is None:
        return None
    number = quantity(number, field=column, allow_zero=not positive)
    if number < 0 or (positive and number == 0):
        raise InvalidInput("must be more than zero" if positive else "cannot be negative", field=column)
    return number


def cost(value, column: str) -> Decimal | None:
    """Money: at most 4 decimal places, never negative."""
    number = _number(value, column)
    return None if number is None else money(number, field=column)


def flag(value, column: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raw = text(value).lower()
    if not raw:
        return None
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise InvalidInput(f"{raw!r} is not true or false (write true/false, yes/no or 1/0)", field=column)


def day(value, column: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.time() != time(0):
            raise InvalidInput("a date without a time of day", field=column)
        return value.date()
    if isinstance(value, date):
        return value
    raw = text(value)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else _bad_date(raw, column)
    except ValueError:
        return _bad_date(raw, column)


def _bad_date(raw: str, column: str):
    raise InvalidInput(f"{raw!r} is not a date (write it as YYYY-MM-DD)", field=column)
