"""Admin form for a tenant: its settings edited as validated KEY=VALUE lines."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from .context import platform_context
from .domains import DomainRefused, domain_check
from .models import Invitation, Membership, Tenant, TenantDomain
from .services import TenantError, invitee_check
from .settings_registry import TenantSettingError, format_value, parse_assignments, registered_settings


class TenantForm(forms.ModelForm):
    settings_text = forms.CharField(
        label="Settings",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80}),
        help_text="One KEY=VALUE per line; omitted keys use their defaults. Valid settings:<br>"
        + "<br>".join(s.describe() for s in registered_settings().values()),
    )

    class Meta:
        model = Tenant
        fields = ["slug", "name", "currency", "timezone", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["settings_text"].initial = "\n".join(
                f"{key}={format_value(value)}" for key, value in sorted(self.instance.settings.items())
            )

    def clean_settings_text(self) -> dict[str, Any]:
        lines = [line.strip() for line in self.cleaned_data["settings_text"].splitlines() if line.strip()]
        try:
            return parse_assignments(lines)
        except TenantSettingError as error:
            raise forms.ValidationError(str(error).splitlines()) from None

    def save(self, commit: bool = True) -> Tenant:
        self.instance.settings = self.cleaned_data["settings_text"]
        return super().save(commit)


class MembershipForm(forms.ModelForm):
    """A platform superuser adds staff by username (a store's owner invites instead: InvitationForm); owners
    change the role of their store's members."""

    username = forms.CharField(help_text="The staff user's username (they must already have an account).")

    class Meta:
        model = Membership
        fields = ["role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["username"].initial = self.instance.user.get_username()
            self.fields["username"].disabled = True

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if self.instance.pk:
            return username
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No active user {username!r}.")
        self.instance.user = user
        return username


class InvitationForm(forms.ModelForm):
    """An owner invites by username or e-mail address; the form never looks the invitee up."""

    class Meta:
        model = Invitation
        fields = ["invitee", "role"]
        help_texts = {
            "invitee": "Their username or the e-mail address of their account. They see the invitation when they "
            "sign in, and become a member only if they accept."
        }

    def clean_invitee(self) -> str:
        try:
            return invitee_check(self.cleaned_data["invitee"])
        except TenantError as error:
            raise forms.ValidationError(str(error)) from None


class TenantDomainForm(forms.ModelForm):
    class Meta:
        model = TenantDomain
        fields = ["domain"]

    def clean_domain(self) -> str:
        try:
            name = domain_check(self.cleaned_data["domain"])
        except DomainRefused as refused:
            raise forms.ValidationError(str(refused)) from None
        # Every store's domains: the same answer whoever has it, so the form tells nothing about other stores.
        with platform_context():
            taken = TenantDomain.objects.filter(domain=name).exclude(pk=self.instance.pk).exists()
        if taken:
            raise forms.ValidationError(f"{name} is not available.")
        return name
