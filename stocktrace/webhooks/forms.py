import json
from typing import cast

from django import forms

from stocktrace.core.errors import Malformed
from stocktrace.core.jsonlimits import json_depth_check
from stocktrace.events.catalogue import event_catalogue
from stocktrace.events.inbound import HANDLERS


class WebhookSourceForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The system that pushes to us, e.g. 'ERP' or 'North WMS'.")
    slug = forms.SlugField(label="Address name", max_length=60, required=False,
                           help_text="The last part of the push URL; made from the name when empty.")
    handler = forms.ChoiceField(help_text="What a pushed payload does.")
    rate_limit_per_minute = forms.IntegerField(label="Rate limit (pushes per minute)", min_value=1,
                                               max_value=100_000, initial=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["handler"]).choices = [(name, name) for name in sorted(HANDLERS)]


class WebhookSubscriptionForm(forms.Form):
    # A CharField, not a URLField: Django's URL validator refuses intranet host names without a dot
    # ("http://erp/hooks"), which the service accepts.
    url = forms.CharField(label="URL", min_length=8, max_length=500, widget=forms.URLInput,
                          help_text="Where to POST the events: http:// or https://")
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["events"]).choices = [
            (name, f"{name} — {text}") for name, text in event_catalogue().items()]


class WebhookActiveForm(forms.Form):
    is_active = forms.TypedChoiceField(choices=[("1", "active"), ("0", "inactive")], coerce=lambda v: v == "1")


class WebhookDryRunForm(forms.Form):
    payload = forms.CharField(label="JSON payload", strip=False,
                              widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false",
                                                           "style": "font-family: ui-monospace, monospace"}))

    def clean_payload(self):
        try:
            json_depth_check(self.cleaned_data["payload"])
            return json.loads(self.cleaned_data["payload"])
        except Malformed as error:
            raise forms.ValidationError(f"{error.detail}.") from error
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"This is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            ) from error

