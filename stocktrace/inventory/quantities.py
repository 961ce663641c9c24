"""Quantities have 3 decimal places, money 4; both are Decimals end to end, never floats."""

from decimal import Decimal

from stocktrace.core.decimals import decimal_parse
from stocktrace.core.errors import InvalidInput

QUANTITY_PLACES, MONEY_PLACES = 3, 4
QUANTITY_STEP = Decimal("0.001")


def quantity_text(value: Decimal | None) -> str:
    """A quantity as people write it, in every message: 12.000 → "12", 2.500 → "2.5" (never "1E+1")."""
    return "0" if not value else format(value.normalize(), "f")


def money_text(value: Decimal) -> str:
    """An amount with at least two decimals and at most its four: 0.1200 → "0.12", 0.1250 → "0.125"."""
    text = quantity_text(value)
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def _decimal(value: object, *, field: str, places: int) -> Decimal:
    try:
        return decimal_parse(value, places)
    except ValueError as error:
        raise InvalidInput(str(error), field=field) from error


def quantity(value: object, *, field: str = "quantity", allow_zero: bool = False) -> Decimal:
    number = _decimal(value, field=field, places=QUANTITY_PLACES)
    if number == 0 and not allow_zero:
        raise InvalidInput("The quantity cannot be zero", field=field)
    return number


def money(value: object, *, field: str = "unit_cost") -> Decimal:
    number = _decimal(value, field=field, places=MONEY_PLACES)
    if number < 0:
        raise InvalidInput("Money cannot be negative", field=field)
    return number
