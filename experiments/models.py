"""Online experiments: arms with traffic shares, and who was exposed to which arm.

An experiment splits the store's shoppers between arms by a hash of their key (customer or visitor);
each arm serves a model version (or the active one) with optional rule settings. The served
`recommendation_id` names the arm ("v12-e3b-…"), so the clicks, add-to-carts and purchases that cite it
are attributed to it; exposures record which subjects saw an arm and when (the denominators).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from recommendations.models import ModelVersion
from retailsite.commerce.models import Customer
from retailsite.tenancy.models import TenantOwnedModel

arm_key_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,15}$", "Use 1-16 lowercase letters, digits or underscores, starting with a letter."
)


class Experiment(TenantOwnedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False)
    # What the test is planned for: the control's conversion rate and the smallest lift worth finding.
    baseline_conversion = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0001), MaxValueValidator(0.9)],
        help_text="expected share of exposed shoppers who buy from a recommendation in the control arm",
    )
    minimum_effect = models.FloatField(
        default=0.10,
        validators=[MinValueValidator(0.005), MaxValueValidator(5.0)],
        help_text="smallest relative lift worth finding (0.10 = +10%)",
    )
    alpha = models.FloatField(default=0.05, validators=[MinValueValidator(0.001), MaxValueValidator(0.2)])
    power = models.FloatField(default=0.8, validators=[MinValueValidator(0.5), MaxValueValidator(0.99)])
    attribution_window_hours = models.PositiveIntegerField(
        default=168,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 90)],
        help_text="clicks, add-to-carts and purchases count for an arm until this long after the last exposure",
    )
    # Random per experiment, so two experiments split shoppers independently; fixed once created.
    salt = models.CharField(max_length=32, editable=False)
    planned_per_arm = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    stopped_at = models.DateTimeField(null=True, blank=True, editable=False)
    significant_at = models.DateTimeField(null=True, blank=True, editable=False)
    winner = models.ForeignKey(
        "Arm", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(status="running"), name="experiment_one_running_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class Arm(TenantOwnedModel):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="arms")
    key = models.CharField(max_length=16, validators=[arm_key_validator], help_text="named in recommendation ids")
    is_control = models.BooleanField(default=False)
    share = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(100)], help_text="percent of shoppers; arms add up to 100"
    )
    model_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="empty: the store's active version",
    )
    max_per_category = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="diversity cap per category (0 = off); empty: the store's setting"
    )
    exclude_purchased = models.BooleanField(null=True, blank=True, help_text="empty: the store's setting")

    class Meta:
        ordering = ["-is_control", "key"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "experiment", "key"], name="arm_tenant_experiment_key_uniq")
        ]

    def __str__(self) -> str:
        return self.key


class Exposure(TenantOwnedModel):
    """A subject shown an arm's list: first and last time, and how many lists. One row per subject and experiment."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+")
    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="+")
    subject_key = models.CharField(max_length=110)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    session_id = models.CharField(max_length=100, blank=True, default="")
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    impressions = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "experiment", "subject_key"], name="exposure_tenant_experiment_subject_uniq"
            )
        ]
        indexes = [models.Index(fields=["tenant", "arm", "first_at"], name="exposure_tenant_arm_idx")]
