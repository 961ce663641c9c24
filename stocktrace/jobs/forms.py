from typing import cast

from django import forms


class DeadLetterFilterForm(forms.Form):
    task = forms.ChoiceField(label="Job", required=False)
    status = forms.ChoiceField(choices=[("dead", "Open"), ("replayed", "Replayed"), ("discarded", "Discarded")],
                              required=False)

    def __init__(self, *args, task_paths: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["task"]).choices = [("", "Every job"),
                                                                *((path, path) for path in task_paths)]


class DeadLetterReplayAllForm(forms.Form):
    task = forms.CharField(required=False, max_length=255)
    through = forms.IntegerField(required=False, min_value=1)
