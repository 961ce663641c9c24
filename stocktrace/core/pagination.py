"""Keyset pagination: pages follow the primary key, so page 10,000 costs what page 1 costs."""

import re

from django.conf import settings

from stocktrace.core.errors import InvalidInput

# The cursor is the key the previous page ended at, in digits. Any such number is a valid place to go on from
# (the rows past it), so the API document can state the rule exactly; 18 digits stay within a bigint.
_CURSOR = re.compile(r"[0-9]{1,18}")


def encode_cursor(pk: int) -> str:
    return str(pk)


def decode_cursor(cursor: str) -> int:
    if not _CURSOR.fullmatch(cursor):
        raise InvalidInput("The cursor is not one this API handed out", field="cursor")
    return int(cursor)


def keyset_page(queryset, *, cursor: str | None, limit: int, newest_first: bool = True) -> dict:
    """One page of `queryset` ordered by pk, and the cursor of the next page (None on the last)."""
    limit = max(1, min(limit, settings.STOCKTRACE_PAGE_SIZE_MAX))
    if cursor:
        after = decode_cursor(cursor)
        queryset = queryset.filter(pk__lt=after) if newest_first else queryset.filter(pk__gt=after)
    rows = list(queryset.order_by("-pk" if newest_first else "pk")[: limit + 1])
    next_cursor = encode_cursor(rows[limit - 1].pk) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}
