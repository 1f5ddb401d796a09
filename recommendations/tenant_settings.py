"""The per-tenant settings of recommendations: the retrain schedule, what counts how much, the serve-time rules."""

from domain.events import EVENT_TYPES
from retailsite.tenancy.settings_registry import TenantSetting, register_setting

SETTINGS: tuple[TenantSetting, ...] = (
    TenantSetting(
        "retrain_time", "time", "02:00", "when the nightly retrain starts (tenant's time zone)", group="recommendations"
    ),
    TenantSetting("retrain_enabled", "bool", True, "retrain recommenders on schedule", group="recommendations"),
    TenantSetting(
        "event_weights",
        "weights",
        {"view": 1.0, "cart": 3.0, "wishlist": 2.0, "purchase": 5.0, "rating": 1.0},
        "weight of each event type in the customer-product matrix (ratings are also scaled by value)",
        choices=EVENT_TYPES,
        group="recommendations",
    ),
    TenantSetting(
        "interaction_half_life_days",
        "float",
        90.0,
        "time decay: an interaction this many days old counts half",
        minimum=1,
        maximum=3650,
        group="recommendations",
    ),
    TenantSetting(
        "activation_tolerance",
        "float",
        0.02,
        "a new model is activated unless its NDCG@10 is this much (relative) below the active one",
        minimum=0,
        maximum=1,
        group="recommendations",
    ),
    TenantSetting(
        "exclude_purchased", "bool", True, "hide already-purchased products by default", group="recommendations"
    ),
    TenantSetting(
        "max_per_category",
        "int",
        0,
        "diversity: at most N items per category in a list (0 = off)",
        minimum=0,
        maximum=100,
        group="recommendations",
    ),
)


def register() -> None:
    for setting in SETTINGS:
        register_setting(setting)
