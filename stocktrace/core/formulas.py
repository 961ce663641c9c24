"""Formulas in exported CSV (CSV injection, OWASP): a spreadsheet program that opens a CSV file runs a cell
beginning with `=`, `+`, `-` or `@` as a formula (`=cmd|' /C calc'!A0` starts a program), and some skip a
leading tab or carriage return first. The export writes such a text with one apostrophe in front, which
spreadsheets take as "this is text"; the CSV reader of the import takes that apostrophe off again, so an
export imports back unchanged.

A leading line feed, not on OWASP's list, is escaped too: it is a line break like the carriage return, and
escaping it costs nothing. A text that begins with apostrophes and then one of those characters gets one
more, so that the reader, which takes one off, gives back what was written; `'quoted` is left alone both
ways.

Only text is escaped: a number (a negative quantity `-5.000`) is written as it is."""

FORMULA_STARTS = frozenset("=+-@\t\r\n")


def _needs_apostrophe(text: str) -> bool:
    return text.lstrip("'")[:1] in FORMULA_STARTS


def csv_escape(text: str) -> str:
    return "'" + text if _needs_apostrophe(text) else text


def csv_unescape(cell: str) -> str:
    """The inverse of `csv_escape`: every text comes back as it was written."""
    return cell[1:] if cell[:1] == "'" and _needs_apostrophe(cell[1:]) else cell
