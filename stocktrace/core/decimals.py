"""Numbers written as text: ASCII digits only, so ' 1', '1_000', Arabic-Indic '١' or full-width '３' (all of
which Python's Decimal() reads) are refused rather than guessed."""

import re
from decimal import Decimal

# 100 billion: with 3 decimals that is 14 significant digits, which SQLite (it stores decimals as doubles)
# keeps exactly; PostgreSQL's numeric(18, 3) could hold more.
DECIMAL_LIMIT = Decimal("1e11")
INTEGER_DIGITS = 11  # the most digits before the point of a number under DECIMAL_LIMIT

PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def is_plain_decimal(text: str) -> bool:
    return PLAIN_DECIMAL.fullmatch(text) is not None


def decimal_parse(value: object, places: int) -> Decimal:
    """An exact decimal from a JSON number (int or Decimal, never a float) or text of ASCII digits, under
    DECIMAL_LIMIT with at most `places` decimal places, given that many places; ValueError says what is wrong.
    The one rule for quantities and money, behind the services and the API's schemas alike."""
    if isinstance(value, float):
        raise ValueError("Send decimals as strings or integers, never floating point")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, str) and not is_plain_decimal(value):
        raise ValueError(f"{value!r} is not a number: write ASCII digits with an optional minus sign and decimal "
                         "point, e.g. 12 or -0.5")
    number = Decimal(value)
    if not number.is_finite() or abs(number) >= DECIMAL_LIMIT:
        raise ValueError(f"{number} is out of range (quantities and money stay under 100 billion)")
    step = Decimal(1).scaleb(-places)
    if number != number.quantize(step):
        raise ValueError(f"{value} has more than {places} decimal places")
    return number.quantize(step)
