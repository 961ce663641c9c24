from ninja import Schema

from stocktrace.core.pagination import keyset_page

__all__ = ["Page", "keyset_page"]


class Page(Schema):
    """A keyset page: pass `next_cursor` back as `cursor` for the next one; null on the last page."""

    next_cursor: str | None
