"""Quantities have 3 decimal places, money 4; both are Decimals end to end, never floats."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from stocktrace.core.decimals import DECIMAL_LIMIT, is_plain_decimal
from stocktrace.core.errors import InvalidInput

QUANTITY_STEP = Decimal("0.001")
MONEY_STEP = Decimal("0.0001")


def _decimal(value: object, *, field: str, step: Decimal) -> Decimal:
    if isinstance(value, float):
        raise InvalidInput("Send decimals as strings or integers, never floating point", field=field)
    if isinstance(value, str) and not is_plain_decimal(value):
        raise InvalidInput(f"{value!r} is not a number: write ASCII digits with an optional minus sign and decimal "
                           "point, e.g. 12 or -0.5", field=field)
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as error:
        raise InvalidInput(f"{value!r} is not a number", field=field) from error
    if not number.is_finite() or abs(number) >= DECIMAL_LIMIT:
        raise InvalidInput(f"{number} is out of range (quantities and money stay under 100 billion)", field=field)
    if number != number.quantize(step, rounding=ROUND_HALF_UP):
        raise InvalidInput(f"{value} has more than {-int(step.as_tuple().exponent)} decimal places", field=field)
    return number.quantize(step)


def quantity(value: object, *, field: str = "quantity", allow_zero: bool = False) -> Decimal:
    number = _decimal(value, field=field, step=QUANTITY_STEP)
    if number == 0 and not allow_zero:
        raise InvalidInput("The quantity cannot be zero", field=field)
    return number


def money(value: object, *, field: str = "unit_cost") -> Decimal:
    number = _decimal(value, field=field, step=MONEY_STEP)
    if number < 0:
        raise InvalidInput("Money cannot be negative", field=field)
    return number
