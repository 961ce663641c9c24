import re

from stocktrace.core.errors import InvalidInput

WHITESPACE = re.compile(r"\s")  # what str.isspace() calls a space, every Unicode one
# Printable ASCII without spaces: what barcode symbologies encode and scanners type reliably. Full-width or
# Arabic-Indic digits and look-alike letters from other scripts are refused, never stored beside the real code.
CODE_CHARACTERS = r"[!-~]"


def code_pattern(max_length: int) -> str:
    """The rule for a code as a JSON Schema / Python pattern, so the API document states what `clean_code` does."""
    return rf"^{CODE_CHARACTERS}{{1,{max_length}}}$"


def clean_code(value: str, field: str, max_length: int = 64) -> str:
    """A SKU, location code, site code or barcode: 1–max_length printable ASCII characters without spaces
    (surrounding spaces, as a form or a spreadsheet cell may add, are trimmed first)."""
    value = (value or "").strip()
    if not re.fullmatch(code_pattern(max_length), value):
        raise InvalidInput(f"{field} needs 1–{max_length} characters without spaces: A–Z, a–z, 0–9 and "
                           "ASCII punctuation", field=field)
    return value
