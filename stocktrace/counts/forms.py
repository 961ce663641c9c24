from typing import cast

from django import forms

from stocktrace.counts.models import CountKind, CountMode
from stocktrace.tenancy.models import Site
from stocktrace.web.forms import scan_field


class PlanForm(forms.Form):
    site: "forms.ModelChoiceField[Site]" = forms.ModelChoiceField(queryset=None, empty_label=None)
    name = forms.CharField(max_length=100, help_text="e.g. Year-end stocktake, Aisle 3 cycle count")
    kind = forms.ChoiceField(choices=CountKind.choices, initial=CountKind.FULL)
    mode = forms.ChoiceField(choices=CountMode.choices, initial=CountMode.BLIND,
                             help_text="Blind: counters never see what was expected. Team: everyone in an area "
                                       "adds to one count.")

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites


class AreasForm(forms.Form):
    codes = forms.CharField(label="Locations", widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
                            required=False, help_text="Codes or barcodes, separated by spaces or lines: each, with "
                                                      "everything under it, becomes an area.")
    kind = forms.ChoiceField(label="Or every location of a kind", required=False,
                             choices=[("", "—"), ("zone", "Every zone"), ("aisle", "Every aisle"),
                                      ("rack", "Every rack"), ("bin", "Every bin")])


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=200)


class ClaimForm(forms.Form):
    barcode = scan_field("Area barcode", help_text="Scan the label on the rack or bin you count.")
