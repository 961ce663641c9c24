import json
import sys
from decimal import Decimal

from ninja.parser import Parser

from stocktrace.core.jsonlimits import json_depth_check


def _exact_number(text: str) -> Decimal:
    number = Decimal(text)
    # JSON integers stop at this many digits (Python's limit); a larger exponent (1e99999999) would make
    # turning the number into an int for a schema take minutes.
    if abs(number.adjusted()) > sys.int_info.default_max_str_digits:
        raise ValueError(f"{text[:20]} is out of range")
    return number


class DecimalJSONParser(Parser):
    """JSON numbers with a fraction or an exponent become exact Decimals, never floats: 1.0000000000000001
    keeps its places (and is refused for them), 123456789012345.123 keeps its digits. Integers stay ints."""

    def parse_body(self, request):
        text = request.body.decode("utf-8")
        json_depth_check(text)
        return json.loads(text, parse_float=_exact_number)
