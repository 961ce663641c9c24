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
