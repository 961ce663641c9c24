import json
import sys
from decimal import Decimal

from ninja.parser import Parser

from stocktrace.core.errors import UnsupportedMediaType
from stocktrace.core.jsonlimits import json_depth_check

JSON_MEDIA_TYPE = "application/json"


def _exact_number(text: str) -> Decimal | int:
    number = Decimal(text)
    # JSON integers stop at this many digits (Python's limit); a larger exponent (1e99999999) would make
    # turning the number into an int for a schema take minutes.
    if abs(number.adjusted()) > sys.int_info.default_max_str_digits:
        raise ValueError(f"{text[:20]} is out of range")
    # 128.0 and 1e2 are integers to JSON Schema, so an integer field takes them.
    return int(number) if number == number.to_integral_value() else number


class DecimalJSONParser(Parser):
    """JSON numbers with a fraction or an exponent become exact Decimals, never floats: 1.0000000000000001
    keeps its places (and is refused for them), 123456789012345.123 keeps its digits. Integers stay ints,
    and so do numbers with no fraction (128.0). A body must say it is JSON (415 otherwise)."""

    def parse_body(self, request):
        if request.content_type != JSON_MEDIA_TYPE:
            raise UnsupportedMediaType(f"Send the body as {JSON_MEDIA_TYPE} (this one is "
                                       f"{request.content_type or 'without a Content-Type'})")
        text = request.body.decode("utf-8")
        json_depth_check(text)
        return json.loads(text, parse_float=_exact_number)
