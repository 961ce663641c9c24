from django import forms

from stocktrace.accounts.roles import Role


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


class WebhookSourceForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The system that pushes to us, e.g. 'ERP' or 'North WMS'.")
    slug = forms.SlugField(label="Address name", max_length=60, required=False,
                           help_text="The last part of the push URL; made from the name when empty.")
    handler = forms.ChoiceField(help_text="What a pushed payload does.")
    rate_limit_per_minute = forms.IntegerField(label="Rate limit (pushes per minute)", min_value=1,
                                               max_value=100_000, initial=100)

    def __init__(self, *args, **kwargs):
        from stocktrace.webhooks.handlers import HANDLERS  # handlers register when their modules load

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
        from stocktrace.webhooks.events import EVENTS

        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(name, f"{name} — {text}") for name, text in EVENTS.items()]


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
