"""Item barcodes: GS1 codes (EAN-8, UPC-A, EAN-13, GTIN-14) with their check digit, or internal codes.

UPC-A, EAN-13 and GTIN-14 are one number space: GS1 compares GTINs left-padded with zeros to 14 digits, and
scanners send a UPC-A as 13 digits (a leading 0) or 14 as they are configured. EAN-8 stays its own space:
scanners send it as its 8 digits, and an 8-digit code may be a UPC-E, whose UPC-A is not a zero-padding."""

import re

from stocktrace.core.codes import CODE_CHARACTERS
from stocktrace.core.errors import InvalidInput

GS1_LENGTHS = {8: "ean8", 12: "upca", 13: "ean13", 14: "gtin14"}
_LENGTH_OF_KIND = {kind: length for length, kind in GS1_LENGTHS.items()}
_INTERNAL = re.compile(rf"{CODE_CHARACTERS}{{1,64}}")  # printable ASCII, no spaces: what scanners send reliably
_PADDABLE_GTIN = re.compile(r"[0-9]{12,14}")
_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() would take full-width and other scripts' digits


def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of the digits before it (weights 3,1,3,… from the right)."""
    from_right = body[::-1]
    total = 3 * sum(map(int, from_right[0::2])) + sum(map(int, from_right[1::2]))
    return (10 - total % 10) % 10


def scan_key(code: str) -> str:
    """What a code is matched on, stored and scanned: its GTIN-14 for 12–14 digits with a right check digit
    (whatever kind the code was given), else the code itself."""
    code = (code or "").strip()
    if _PADDABLE_GTIN.fullmatch(code) and gs1_check_digit(code[:-1]) == int(code[-1]):
        return code.zfill(14)
    return code


def check_digit_hint(code: str) -> str:
    """For a code in a GTIN's form (8, 12, 13 or 14 digits) with a wrong check digit, a sentence to add to "not
    found" saying so: such a code was mistyped or misread, and no item can have it. Empty otherwise."""
    if _DIGITS.fullmatch(code) and len(code) in GS1_LENGTHS and gs1_check_digit(code[:-1]) != int(code[-1]):
        return (f"; {code} has a wrong check digit for a GTIN (expected {gs1_check_digit(code[:-1])}): "
                "was it mistyped or misread?")
    return ""


def taken(code: str, owner_code: str, owner_sku: str) -> str:
    """Why a code cannot be added, after "barcode ": it, or another form of its GTIN, is another item's."""
    if code == owner_code:
        return f"{code} belongs to item {owner_sku}"
    return f"{code} is the same GTIN as {owner_code}, a barcode of item {owner_sku}"


def classify(code: str, kind: str | None = None) -> tuple[str, str]:
    """Return (code, kind) for a valid barcode, or raise InvalidInput saying what is wrong."""
    code = (code or "").strip()
    if kind is None:
        kind = GS1_LENGTHS.get(len(code), "internal") if _DIGITS.fullmatch(code) else "internal"
    if kind == "internal":
        if not _INTERNAL.fullmatch(code):
            raise InvalidInput("An internal code is 1–64 printable characters without spaces", field="barcode")
        return code, kind
    expected_length = _LENGTH_OF_KIND.get(kind)
    if expected_length is None:
        raise InvalidInput(f"Unknown barcode kind {kind!r}", field="barcode")
    if not _DIGITS.fullmatch(code) or len(code) != expected_length:
        raise InvalidInput(f"{kind.upper()} has {expected_length} digits", field="barcode")
    if gs1_check_digit(code[:-1]) != int(code[-1]):
        raise InvalidInput(f"{code} has a wrong check digit (expected {gs1_check_digit(code[:-1])})", field="barcode")
    return code, kind
