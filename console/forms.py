"""The console's inputs, each checked once here, at the boundary."""

import uuid

from django import forms
from django.contrib.auth import get_user_model, password_validation

from substrapp.models import Role

MAX_POLLED_PLANS = 100


class PlanKeysForm(forms.Form):
    """`keys=k1,k2`: the plans on screen, at most a page of them, each a key."""

    keys = forms.CharField(max_length=MAX_POLLED_PLANS * 37)

    def clean_keys(self):
        keys = [key for key in self.cleaned_data["keys"].split(",") if key]
        if len(keys) > MAX_POLLED_PLANS:
            raise forms.ValidationError(f"At most {MAX_POLLED_PLANS} plans at once.")
        for key in keys:
            try:
                uuid.UUID(key)
            except ValueError:
                raise forms.ValidationError(f"{key[:40]!r} is not a plan key.") from None
        return keys


class NewUserForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]{1,150}$", max_length=150, help_text="Letters, digits and @ . + - _")
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.USER)

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError("This username is taken.")
        return username

    def clean_password(self):
        password = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class PasswordResetForm(forms.Form):
    password = forms.CharField(label="New password", widget=forms.PasswordInput, max_length=128)

    def clean_password(self):
        password = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password


class NewTokenForm(forms.Form):
    hours = forms.TypedChoiceField(
        label="Expires in",
        coerce=int,
        choices=[(1, "1 hour"), (24, "1 day"), (168, "7 days"), (720, "30 days")],
        initial=24,
    )
    note = forms.CharField(max_length=100, required=False, help_text="What the token is for.")


class ChannelForm(forms.Form):
    channel = forms.CharField(max_length=100)
