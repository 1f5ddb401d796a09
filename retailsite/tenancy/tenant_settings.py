"""The per-tenant settings that every part of the platform reads, in one place.

Grouped by the part that uses them; `manage.py tenant show SLUG` lists them all.
"""

from domain.events import EVENT_TYPES

from .settings_registry import TenantSetting, register_setting

for _setting in (
    # Recommendations
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
    # Forecasting and customer predictions
    TenantSetting(
        "forecast_frequency",
        "choice",
        "W",
        "demand forecast period: D (day), W (week), M (month)",
        choices=("D", "W", "M"),
        group="forecasting",
    ),
    TenantSetting(
        "forecast_horizon", "int", 12, "how many periods ahead to forecast", minimum=1, maximum=365, group="forecasting"
    ),
    TenantSetting("forecast_time", "time", "03:00", "when nightly forecasts and predictions run", group="forecasting"),
    # Inventory
    TenantSetting(
        "inventory_budget",
        "float",
        0.0,
        "purchase budget per review cycle (0 = unlimited)",
        minimum=0,
        group="inventory",
    ),
    TenantSetting(
        "warehouse_capacity", "float", 0.0, "warehouse capacity by volume (0 = unlimited)", minimum=0, group="inventory"
    ),
    TenantSetting(
        "review_period_days", "int", 7, "days between reorder reviews", minimum=1, maximum=365, group="inventory"
    ),
    TenantSetting(
        "reorder_rule",
        "choice",
        "dynamic",
        "dynamic: reorder levels from a program over the next 12-52 reviews that follows the forecast; "
        "closed_form: from the demand over one lead time + review period",
        choices=("dynamic", "closed_form"),
        group="inventory",
    ),
    TenantSetting(
        "default_service_level",
        "float",
        0.95,
        "target service level when a product sets none",
        minimum=0.5,
        maximum=0.9999,
        group="inventory",
    ),
    # Privacy
    TenantSetting(
        "event_retention_days",
        "int",
        730,
        "raw events older than this are purged (0 = keep)",
        minimum=0,
        maximum=36500,
        group="privacy",
    ),
    TenantSetting(
        "sync_deletion_retention_days",
        "int",
        30,
        "deleted and erased ids stay in the partner sync feed this long; older cursors must resync",
        minimum=7,  # a cursor expires a day early (retailsite/api/sync.py): a week leaves partners six days
        maximum=3650,
        group="privacy",
    ),
):
    register_setting(_setting)
