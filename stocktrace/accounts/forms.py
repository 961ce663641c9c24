from typing import TYPE_CHECKING, cast

from django import forms

from stocktrace.tenancy.roles import Role

if TYPE_CHECKING:
    from stocktrace.tenancy.models import Site

    _FormBase = forms.BaseForm
else:
    _FormBase = object


class SiteChoiceMixin(_FormBase):
    def set_site_choices(self, sites):
        cast(forms.ModelChoiceField, self.fields["sites"]).queryset = sites


class InviteForm(SiteChoiceMixin, forms.Form):
    email = forms.EmailField(label="E-mail", max_length=254)
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.COUNTER)
    sites: "forms.ModelMultipleChoiceField[Site]" = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Non-admins see and act on their sites only.")


class MemberForm(SiteChoiceMixin, forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    is_active = forms.BooleanField(label="Active", required=False)
    sites: "forms.ModelMultipleChoiceField[Site]" = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple)


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=150)
    allow_negative_stock = forms.BooleanField(required=False, help_text="Allow issues that take stock below zero.")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="e.g. 'Scanner 4, aisle B' or 'ERP sync'")
    expires_at = forms.DateTimeField(label="Expires", required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                     help_text="Leave empty for a token that does not expire.")


class SiteForm(forms.Form):
    code = forms.CharField(max_length=32)
    name = forms.CharField(max_length=150)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)
