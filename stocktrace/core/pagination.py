"""Keyset pagination: pages follow the primary key, so page 10,000 costs what page 1 costs."""

import base64
import binascii

from django.conf import settings

from stocktrace.core.errors import InvalidInput


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(str(pk).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is not one this API handed out", field="cursor") from exc
    if value < 0:
        raise InvalidInput("The cursor is not one this API handed out", field="cursor")
    return value


def keyset_page(queryset, *, cursor: str | None, limit: int, newest_first: bool = True) -> dict:
    """One page of `queryset` ordered by pk, and the cursor of the next page (None on the last)."""
    limit = max(1, min(limit, settings.STOCKTRACE_PAGE_SIZE_MAX))
    if cursor:
        after = decode_cursor(cursor)
        queryset = queryset.filter(pk__lt=after) if newest_first else queryset.filter(pk__gt=after)
    rows = list(queryset.order_by("-pk" if newest_first else "pk")[: limit + 1])
    next_cursor = encode_cursor(rows[limit - 1].pk) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}
