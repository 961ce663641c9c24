from django import forms

from stocktrace.core.errors import DomainError
from stocktrace.tenancy.roles import Role


def show_domain_error(form, error: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Put a service's error on the form field it names (aliases map service names to form names),
    or on the form as a whole."""
    field = (aliases or {}).get(error.field, error.field)
    form.add_error(field if field in form.fields else None, error.detail)


class SiteChoiceMixin:
    def set_site_choices(self, sites):
        self.fields["sites"].queryset = sites


class InviteForm(SiteChoiceMixin, forms.Form):
    email = forms.EmailField(label="E-mail", max_length=254)
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.COUNTER)
    sites = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
                                           help_text="Non-admins see and act on their sites only.")


class MemberForm(SiteChoiceMixin, forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    is_active = forms.BooleanField(label="Active", required=False)
    sites = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple)


class SiteForm(forms.Form):
    code = forms.CharField(max_length=32)
    name = forms.CharField(max_length=150)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=150)
    allow_negative_stock = forms.BooleanField(required=False, help_text="Allow issues that take stock below zero.")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="e.g. 'Scanner 4, aisle B' or 'ERP sync'")
    expires_at = forms.DateTimeField(label="Expires", required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                     help_text="Leave empty for a token that does not expire.")


class AuditFilterForm(forms.Form):
    object_type = forms.CharField(required=False, max_length=64)
    object_id = forms.CharField(required=False, max_length=64)
    actor_email = forms.CharField(required=False, max_length=254, label="User e-mail")
    action = forms.CharField(required=False, max_length=64)
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class DeadLetterFilterForm(forms.Form):
    task = forms.ChoiceField(label="Job", required=False)
    status = forms.ChoiceField(choices=[("dead", "Open"), ("replayed", "Replayed"), ("discarded", "Discarded")],
                              required=False)

    def __init__(self, *args, task_paths: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = [("", "Every job"), *((path, path) for path in task_paths)]


class DeadLetterReplayAllForm(forms.Form):
    task = forms.CharField(required=False, max_length=255)
    through = forms.IntegerField(required=False, min_value=1)


class WebhookSourceForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The system that pushes to us, e.g. 'ERP' or 'North WMS'.")
    slug = forms.SlugField(label="Address name", max_length=60, required=False,
                           help_text="The last part of the push URL; made from the name when empty.")
    handler = forms.ChoiceField(help_text="What a pushed payload does.")
    rate_limit_per_minute = forms.IntegerField(label="Rate limit (pushes per minute)", min_value=1,
                                               max_value=100_000, initial=100)

    def __init__(self, *args, **kwargs):
        from stocktrace.events.inbound import HANDLERS

        super().__init__(*args, **kwargs)
        self.fields["handler"].choices = [(name, name) for name in sorted(HANDLERS)]


class WebhookSubscriptionForm(forms.Form):
    # A CharField, not a URLField: Django's URL validator refuses intranet host names without a dot
    # ("http://erp/hooks"), which the service accepts.
    url = forms.CharField(label="URL", min_length=8, max_length=500, widget=forms.URLInput,
                          help_text="Where to POST the events: http:// or https://")
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        from stocktrace.events.catalogue import event_catalogue

        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(name, f"{name} — {text}") for name, text in event_catalogue().items()]


class WebhookActiveForm(forms.Form):
    is_active = forms.TypedChoiceField(choices=[("1", "active"), ("0", "inactive")], coerce=lambda v: v == "1")


class WebhookDryRunForm(forms.Form):
    payload = forms.CharField(label="JSON payload", strip=False,
                              widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false",
                                                           "style": "font-family: ui-monospace, monospace"}))

    def clean_payload(self):
        import json

        try:
            return json.loads(self.cleaned_data["payload"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"This is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            ) from error
        except RecursionError as error:
            raise forms.ValidationError("This JSON is nested too deeply.") from error


# Inventory pages. Posting forms are filled with a barcode scanner (which types the code and Enter) or by
# gloved thumbs on a phone: scanned codes are text fields, quantities decimal text, the first field has focus.

ADJUSTMENT_REASONS = ["damaged", "lost", "found", "expired", "correction"]
_SCAN_ATTRS = {"autocomplete": "off", "autocapitalize": "off", "autocorrect": "off", "spellcheck": "false",
               "enterkeyhint": "next", "data-scan": ""}
_TEXT_ATTRS = {"autocomplete": "off", "enterkeyhint": "next"}


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
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):  # no exponents, no NaN or Infinity
        raise forms.ValidationError(f"{text!r} is not a number; type e.g. 12 or 0.5.")
    return Decimal(text)


class DecimalTextField(forms.CharField):
    """A quantity or amount typed as text with the decimal keypad. Its scale is checked by the service."""

    def __init__(self, *, signed: bool = False, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("widget", forms.TextInput(attrs={**_TEXT_ATTRS, "inputmode": "decimal"}))
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
                           widget=forms.TextInput(attrs=_SCAN_ATTRS))


def _text(label: str, max_length: int, help_text: str = "", **attrs) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=False, help_text=help_text,
                           widget=forms.TextInput(attrs={**_TEXT_ATTRS, **attrs}))


class FocusFirstMixin:
    """Focus the first field, or after a refusal the first field with an error, so the next scan lands there."""

    def focus(self) -> None:
        names = [name for name in self.fields if name in self.errors] or list(self.fields)
        for field in self.fields.values():
            field.widget.attrs.pop("autofocus", None)
        self.fields[names[0]].widget.attrs["autofocus"] = True


class _Posting(FocusFirstMixin, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.focus()


class ReceiveForm(_Posting):
    location = scan_field("Location", help_text="Scan the bin's barcode.")
    item = scan_field("Item", help_text="Scan the item's barcode, or type its SKU.")
    quantity = DecimalTextField(label="Quantity")
    lot = _text("Lot", 64, "Only for lot-tracked items.")
    expires_on = forms.DateField(label="Expiry date", required=False, help_text="For items that track expiry.",
                                 widget=forms.DateInput(attrs={"type": "date"}))
    unit_cost = DecimalTextField(label="Unit cost", required=False, help_text="Empty: the item's standard cost.")
    reference = _text("Reference", 100, "Purchase order, delivery note…")
    reason = _text("Note", 200)


class IssueForm(_Posting):
    location = scan_field("Location", help_text="Scan the bin the stock is taken from.")
    item = scan_field("Item", help_text="Scan the item's barcode, or type its SKU.")
    quantity = DecimalTextField(label="Quantity")
    lot = _text("Lot", 64, "Only for lot-tracked items.")
    reference = _text("Reference", 100, "Order, job or ticket number…")
    reason = _text("Note", 200)


class AdjustForm(_Posting):
    location = scan_field("Location", help_text="Scan the bin's barcode.")
    item = scan_field("Item", help_text="Scan the item's barcode, or type its SKU.")
    direction = forms.ChoiceField(label="Change", choices=[("remove", "Remove"), ("add", "Add")], initial="remove",
                                  widget=forms.RadioSelect)
    quantity = DecimalTextField(label="Quantity")
    reason = forms.CharField(label="Reason", max_length=200,
                             widget=forms.TextInput(attrs={**_TEXT_ATTRS, "list": "reasons"}))
    lot = _text("Lot", 64, "Only for lot-tracked items.")
    expires_on = forms.DateField(label="Expiry date", required=False, help_text="When adding stock of an item "
                                 "that tracks expiry.", widget=forms.DateInput(attrs={"type": "date"}))
    reference = _text("Reference", 100)

    reasons = ADJUSTMENT_REASONS

    def delta(self):
        quantity = self.cleaned_data["quantity"]
        return quantity if self.cleaned_data["direction"] == "add" else -quantity


class TransferForm(_Posting):
    from_location = scan_field("From location", help_text="Scan the bin the stock leaves.")
    item = scan_field("Item", help_text="Scan the item's barcode, or type its SKU.")
    to_location = scan_field("To location", help_text="Scan the bin the stock goes to.")
    quantity = DecimalTextField(label="Quantity")
    lot = _text("Lot", 64, "Only for lot-tracked items.")
    reference = _text("Reference", 100)
    reason = _text("Note", 200)


class StockFilterForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None, required=False, empty_label="All my sites")
    location = forms.CharField(label="Location", max_length=64, required=False,
                               help_text="Barcode or code; includes what lies under it.",
                               widget=forms.TextInput(attrs=_SCAN_ATTRS))
    item = forms.CharField(label="Item", max_length=64, required=False, help_text="Barcode or SKU.",
                           widget=forms.TextInput(attrs=_SCAN_ATTRS))
    lot = forms.CharField(label="Lot", max_length=64, required=False)
    zero = forms.BooleanField(label="Show zero stock", required=False)

    def set_site_choices(self, sites):
        self.fields["site"].queryset = sites


class ItemSearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=64, required=False, help_text="SKU prefix or part of the name.",
                        widget=forms.TextInput(attrs={**_SCAN_ATTRS, "type": "search", "enterkeyhint": "search"}))


class ItemForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64)
    name = forms.CharField(max_length=200)
    unit = forms.CharField(max_length=16, required=False, initial="ea", help_text="ea, kg, m, box… (empty: ea)")
    unit_cost = DecimalTextField(label="Unit cost", required=False)
    min_level = DecimalTextField(label="Minimum level", required=False, help_text="Below it: a low-stock alert.")
    max_level = DecimalTextField(label="Maximum level", required=False, help_text="Above it: an excess alert.")
    tracks_lots = forms.BooleanField(label="Tracks lots", required=False)
    tracks_expiry = forms.BooleanField(label="Tracks expiry dates", required=False)
    barcodes = forms.CharField(max_length=1000, required=False, help_text="Scan them, separated by spaces.",
                               widget=forms.TextInput(attrs=_SCAN_ATTRS))

    def clean_unit_cost(self):
        value = self.cleaned_data["unit_cost"]
        return 0 if value is None else value

    def clean_barcodes(self):
        return self.cleaned_data["barcodes"].replace(",", " ").split()


class ItemLevelsForm(forms.Form):
    min_level = DecimalTextField(label="Minimum level", required=False, help_text="Empty: no minimum.")
    max_level = DecimalTextField(label="Maximum level", required=False, help_text="Empty: no maximum.")


class BarcodeForm(forms.Form):
    code = scan_field("Barcode", help_text="EAN-8, EAN-13, UPC-A and GTIN-14 check digits are verified.")
    kind = forms.ChoiceField(required=False, choices=[("", "Guess from the code"), ("ean8", "EAN-8"),
                                                      ("ean13", "EAN-13"), ("upca", "UPC-A"), ("gtin14", "GTIN-14"),
                                                      ("internal", "Internal")])


class LocationForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None, empty_label=None)
    code = forms.CharField(max_length=64, help_text="Unique in the site, e.g. A-01-03.")
    kind = forms.ChoiceField(initial="bin")
    name = forms.CharField(max_length=150, required=False)
    parent = scan_field("Parent", required=False, help_text="Barcode or code of the location it lies in; "
                        "empty for the top of the site.")
    barcode = forms.CharField(max_length=64, required=False, help_text="Empty: SITE-CODE.",
                              widget=forms.TextInput(attrs=_SCAN_ATTRS))

    def __init__(self, *args, **kwargs):
        from stocktrace.inventory.models import Location

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = Location.Kind.choices

    def set_site_choices(self, sites):
        self.fields["site"].queryset = sites


class LocationMoveForm(forms.Form):
    parent = scan_field("New parent", required=False, help_text="Barcode or code; empty for the top of the site.")


class AlertFilterForm(forms.Form):
    STATUSES = [("", "Open and acknowledged"), ("open", "Open"), ("acknowledged", "Acknowledged"),
                ("resolved", "Resolved"), ("all", "All")]

    status = forms.ChoiceField(choices=STATUSES, required=False)
    kind = forms.ChoiceField(required=False)
    severity = forms.ChoiceField(required=False)
    site = forms.ModelChoiceField(queryset=None, required=False, empty_label="All my sites")

    def __init__(self, *args, sites, **kwargs):
        from stocktrace.inventory.models import StockAlert

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Any kind"), *StockAlert.Kind.choices]
        self.fields["severity"].choices = [("", "Any severity"), *StockAlert.Severity.choices]
        self.fields["site"].queryset = sites
