"""The pages write quantities and money as the messages do: `{% load quantities %}{{ row.quantity|quantity }}`."""

from decimal import Decimal

from django import template

from stocktrace.inventory.quantities import money_text, quantity_text

register = template.Library()


@register.filter
def quantity(value: Decimal | None) -> str:
    """12.000 → "12", 2.500 → "2.5"; nothing for no value (so `|default:"—"` applies)."""
    return "" if value is None else quantity_text(value)


@register.filter
def signed_quantity(value: Decimal) -> str:
    """A movement's change: "+5", "-1.25"."""
    return ("+" if value > 0 else "") + quantity_text(value)


@register.filter
def money(value: Decimal | None) -> str:
    """0.1200 → "0.12", 0.1250 → "0.125"; nothing for no value."""
    return "" if value is None else money_text(value)
