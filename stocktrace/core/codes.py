import re

from stocktrace.core.errors import InvalidInput

WHITESPACE = re.compile(r"\s")  # what str.isspace() calls a space, every Unicode one


def clean_code(value: str, field: str, max_length: int = 64) -> str:
    """A SKU, location code, site code or barcode: 1–max_length characters without spaces."""
    value = (value or "").strip()
    if not value or len(value) > max_length or WHITESPACE.search(value):
        raise InvalidInput(f"{field} needs 1–{max_length} characters without spaces", field=field)
    return value
