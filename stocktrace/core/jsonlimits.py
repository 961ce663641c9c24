"""One bound on JSON nesting for every entry point (the API's bodies, webhook pushes, the webhook tester): deeper
than this is no real payload, and Python's parser would otherwise fail deep in its recursion (a 500)."""

from stocktrace.core.errors import Malformed

MAX_DEPTH = 64


def json_depth_check(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse JSON text nested deeper than `max_depth` arrays and objects (brackets inside strings not counted)."""
    if text.count("[") + text.count("{") <= max_depth:
        return  # cannot be deeper: the common case costs two counts
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                raise Malformed(f"The JSON is nested more than {max_depth} levels deep")
        elif char in "]}":
            depth -= 1
