from typing import TYPE_CHECKING

from django import forms

from stocktrace.core.errors import DomainError

if TYPE_CHECKING:
    _FormBase = forms.BaseForm
else:
    _FormBase = object


def show_domain_error(form, error: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Put a service's error on the form field it names (aliases map service names to form names),
    or on the form as a whole."""
    field = (aliases or {}).get(error.field, error.field) if error.field is not None else None
    form.add_error(field if field in form.fields else None, error.detail)


# Scanning forms are filled with a barcode scanner (which types the code and Enter) or by
# gloved thumbs on a phone: scanned codes are text fields, quantities decimal text, the first field has focus.

SCAN_ATTRS = {"autocomplete": "off", "autocapitalize": "off", "autocorrect": "off", "spellcheck": "false",
               "enterkeyhint": "next", "data-scan": ""}
TEXT_ATTRS = {"autocomplete": "off", "enterkeyhint": "next"}


def parse_decimal(text: str):
    """A typed number as a Decimal (never a float). A lone comma is a decimal comma (phone keypads in many
    locales), except where it could be a thousands separator: '1,000' is refused rather than guessed."""
    import re
    from decimal import Decimal

    text = (text or "").strip().replace(" ", "")
    if "," in text:
        if "." in text or text.count(",") > 1 or re.fullmatch(r"[+-]?[1-9]\d{0,2},\d{3}", text):
            raise forms.ValidationError(f"Is {text} a decimal or thousands? Type it with a point, e.g. 1000 or 1.5.")
        text = text.replace(",", ".")
    if not re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", text):  # ASCII digits; no exponents, NaN or Infinity
        raise forms.ValidationError(f"{text!r} is not a number; type e.g. 12 or 0.5.")
    return Decimal(text)


class DecimalTextField(forms.CharField):
    """A quantity or amount typed as text with the decimal keypad. Its scale is checked by the service."""

    def __init__(self, *, signed: bool = False, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("widget", forms.TextInput(attrs={**TEXT_ATTRS, "inputmode": "decimal"}))
        self.signed = signed
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)  # the text, its length checked
        if value in self.empty_values:
            return None
        number = parse_decimal(value)
        if number < 0 and not self.signed:
            raise forms.ValidationError(f"Type the {str(self.label).lower()} without a minus sign.")
        return number


def scan_field(label: str, *, required: bool = True, help_text: str = "") -> forms.CharField:
    return forms.CharField(label=label, max_length=64, required=required, help_text=help_text,
                           widget=forms.TextInput(attrs=SCAN_ATTRS))


def text_field(label: str, max_length: int, help_text: str = "", **attrs) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=False, help_text=help_text,
                           widget=forms.TextInput(attrs={**TEXT_ATTRS, **attrs}))


class FocusFirstMixin(_FormBase):
    """Focus the first field, or after a refusal the first field with an error, so the next scan lands there."""

    def focus(self) -> None:
        names = [name for name in self.fields if name in self.errors] or list(self.fields)
        for field in self.fields.values():
            field.widget.attrs.pop("autofocus", None)
        self.fields[names[0]].widget.attrs["autofocus"] = True
