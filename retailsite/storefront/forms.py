"""Storefront forms: every shopper input is validated here before a view acts on it."""

from __future__ import annotations

from typing import Any

from django import forms

from retailsite.commerce.search import MAX_SEARCH_QUERY_LENGTH
from retailsite.commerce.services import MAX_LINE_QUANTITY

MAX_PRODUCT_ID = 2**63 - 1  # a bigint primary key; larger numbers are refused, not passed to the database


class StoreForm(forms.Form):
    """Labels without the trailing colon; everything else as Django renders it (labels, aria-describedby)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SearchForm(StoreForm):
    q = forms.CharField(label="Search the store", max_length=MAX_SEARCH_QUERY_LENGTH, required=False, strip=True)


class CartAddForm(StoreForm):
    product = forms.IntegerField(min_value=1, max_value=MAX_PRODUCT_ID, widget=forms.HiddenInput)
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=MAX_LINE_QUANTITY, initial=1)
    rid = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)


class CartUpdateForm(StoreForm):
    product = forms.IntegerField(min_value=1, max_value=MAX_PRODUCT_ID, widget=forms.HiddenInput)
    quantity = forms.IntegerField(label="Quantity", min_value=0, max_value=MAX_LINE_QUANTITY)


class SignInForm(StoreForm):
    email = forms.EmailField(label="E-mail", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        label="Password",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    next = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)


class SignUpForm(StoreForm):
    name = forms.CharField(
        label="Name", max_length=200, required=False, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(label="E-mail", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        label="Password",
        max_length=256,
        strip=False,
        help_text="At least 8 characters; not a common password and not only digits.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    marketing_consent = forms.BooleanField(label="Send me offers and news by e-mail", required=False)
    next = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)


class ConsentForm(StoreForm):
    personalization = forms.BooleanField(
        label="Personalize my recommendations",
        required=False,
        help_text="Uses what you view, add to your cart and buy in this store. When off, you see popular items "
        "and nothing you do here is recorded for personalization.",
    )
    marketing = forms.BooleanField(label="Send me offers and news by e-mail", required=False)
