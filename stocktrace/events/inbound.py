"""Inbound handlers: how a pushed payload of a kind (`site.upsert`, `stock.receipt`) becomes changes. Each app
declares the handlers it offers in its `inbound.py`; webhooks stores pushes and runs them through here.

A handler gets the organization and the parsed JSON payload, makes its changes through its app's services
(so they are audited), and returns a summary of what it did. It raises PayloadRejected for a payload it can
never accept (retrying would not help). A dry run calls it for real inside a transaction that is rolled
back, so a handler needs no dry-run code of its own.

A handler is repeatable when running it twice on one payload changes nothing more than running it once
(an upsert). One that appends (stock receipts post movements) says `repeatable=False`: a delivery it has
processed cannot be replayed.
"""

from collections.abc import Callable

from stocktrace.core.discovery import app_modules

InboundHandler = Callable[..., dict]

HANDLERS: dict[str, InboundHandler] = {}


class PayloadRejected(Exception):
    pass


def inbound_handler(name: str, *, repeatable: bool = True) -> Callable[[InboundHandler], InboundHandler]:
    def register(func: InboundHandler) -> InboundHandler:
        func.repeatable = repeatable  # type: ignore[attr-defined]
        HANDLERS[name] = func
        return func

    return register


def handler_is_repeatable(name: str) -> bool:
    return getattr(HANDLERS.get(name), "repeatable", True)


def inbound_handlers_discover() -> None:
    app_modules("inbound")
