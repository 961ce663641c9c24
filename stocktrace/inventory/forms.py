from typing import TYPE_CHECKING, cast

from django import forms

from stocktrace.web.forms import SCAN_ATTRS, TEXT_ATTRS, DecimalTextField, FocusFirstMixin, scan_field, text_field

if TYPE_CHECKING:
    from stocktrace.tenancy.models import Site

ADJUSTMENT_REASONS = ["damaged", "lost", "found", "expired", "correction"]


class _Posting(FocusFirstMixin, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.focus()


class ReceiveForm(_Posting):
    location = scan_field("Location", help_text="Scan the bin's barcode.")
    item = scan_field("Item", help_text="Scan the item's barcode, or type its SKU.")
    quantity = DecimalTextField(label="Quantity")
    lot = text_field("Lot", 64, "Only for lot-tracked items.")
    expires_on = forms.DateField(label="Expiry date", required=False, help_text="For items that track expiry.",
                                 widget=forms.DateInput(attrs={"type": "date"}))
    unit_cost = DecimalTextField(label="Unit cost", required=False, help_text="Empty: the item's standard cost.")
    reference = text_field("Reference", 100, "Purchase order, delivery note…")
    reason = text_field("Note", 200)


class IssueForm(_Posting):
    location = scan_field("Location", help_text="Scan the bin the stock is taken from.")
    item = scan_field("Item", help_text="Scan the item's barcode, or type its SKU.")
    quantity = DecimalTextField(label="Quantity")
    lot = text_field("Lot", 64, "Only for lot-tracked items.")
    reference = text_field("Reference", 100, "Order, job or ticket number…")
    reason = text_field("Note", 200)


class AdjustForm(_Posting):
    location = scan_field("Location", help_text="Scan the bin's barcode.")
    item = scan_field("Item", help_text="Scan the item's barcode, or type its SKU.")
    direction = forms.ChoiceField(label="Change", choices=[("remove", "Remove"), ("add", "Add")], initial="remove",
                                  widget=forms.RadioSelect)
    quantity = DecimalTextField(label="Quantity")
    reason = forms.CharField(label="Reason", max_length=200,
                             widget=forms.TextInput(attrs={**TEXT_ATTRS, "list": "reasons"}))
    lot = text_field("Lot", 64, "Only for lot-tracked items.")
    expires_on = forms.DateField(label="Expiry date", required=False, help_text="When adding stock of an item "
                                 "that tracks expiry.", widget=forms.DateInput(attrs={"type": "date"}))
    reference = text_field("Reference", 100)

    reasons = ADJUSTMENT_REASONS

    def delta(self):
        quantity = self.cleaned_data["quantity"]
        return quantity if self.cleaned_data["direction"] == "add" else -quantity


class TransferForm(_Posting):
    from_location = scan_field("From location", help_text="Scan the bin the stock leaves.")
    item = scan_field("Item", help_text="Scan the item's barcode, or type its SKU.")
    to_location = scan_field("To location", help_text="Scan the bin the stock goes to.")
    quantity = DecimalTextField(label="Quantity")
    lot = text_field("Lot", 64, "Only for lot-tracked items.")
    reference = text_field("Reference", 100)
    reason = text_field("Note", 200)


class StockFilterForm(forms.Form):
    site: "forms.ModelChoiceField[Site]" = forms.ModelChoiceField(queryset=None, required=False,
                                                                  empty_label="All my sites")
    location = forms.CharField(label="Location", max_length=64, required=False,
                               help_text="Barcode or code; includes what lies under it.",
                               widget=forms.TextInput(attrs=SCAN_ATTRS))
    item = forms.CharField(label="Item", max_length=64, required=False, help_text="Barcode or SKU.",
                           widget=forms.TextInput(attrs=SCAN_ATTRS))
    lot = forms.CharField(label="Lot", max_length=64, required=False)
    zero = forms.BooleanField(label="Show zero stock", required=False)

    def set_site_choices(self, sites):
        cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites


class ItemSearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=64, required=False, help_text="SKU prefix or part of the name.",
                        widget=forms.TextInput(attrs={**SCAN_ATTRS, "type": "search", "enterkeyhint": "search"}))


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
                               widget=forms.TextInput(attrs=SCAN_ATTRS))

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
    site: "forms.ModelChoiceField[Site]" = forms.ModelChoiceField(queryset=None, empty_label=None)
    code = forms.CharField(max_length=64, help_text="Unique in the site, e.g. A-01-03.")
    kind = forms.ChoiceField(initial="bin")
    name = forms.CharField(max_length=150, required=False)
    parent = scan_field("Parent", required=False, help_text="Barcode or code of the location it lies in; "
                        "empty for the top of the site.")
    barcode = forms.CharField(max_length=64, required=False, help_text="Empty: SITE-CODE.",
                              widget=forms.TextInput(attrs=SCAN_ATTRS))

    def __init__(self, *args, **kwargs):
        from stocktrace.inventory.models import Location

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["kind"]).choices = Location.Kind.choices

    def set_site_choices(self, sites):
        cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites


class LocationMoveForm(forms.Form):
    parent = scan_field("New parent", required=False, help_text="Barcode or code; empty for the top of the site.")


class AlertFilterForm(forms.Form):
    STATUSES = [("", "Open and acknowledged"), ("open", "Open"), ("acknowledged", "Acknowledged"),
                ("resolved", "Resolved"), ("all", "All")]

    status = forms.ChoiceField(choices=STATUSES, required=False)
    kind = forms.ChoiceField(required=False)
    severity = forms.ChoiceField(required=False)
    site: "forms.ModelChoiceField[Site]" = forms.ModelChoiceField(queryset=None, required=False,
                                                                  empty_label="All my sites")

    def __init__(self, *args, sites, **kwargs):
        from stocktrace.inventory.models import StockAlert

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["kind"]).choices = [("", "Any kind"), *StockAlert.Kind.choices]
        cast(forms.ChoiceField, self.fields["severity"]).choices = [("", "Any severity"), *StockAlert.Severity.choices]
        cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites
