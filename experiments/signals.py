"""Signals experiments send (webhooks listens)."""

from django.dispatch import Signal

experiment_significant = Signal()  # kwargs: experiment — sent once, the first time the results are significant
