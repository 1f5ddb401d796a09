"""Customer predictions per tenant: expected spend, churn risk, next category and segment.

Reads the store's orders, events and demographics into the engine's tables (customers
without personalization consent are left out: their behaviour feeds neither training nor
features), trains, scores every customer, and stores a new run; the previous run keeps
serving until this one has succeeded.
"""

from __future__ import annotations

import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from forecasting.engine.customers import CustomerTables, TrainingConfig, train_customer_models
from retailsite.tenancy.models import Tenant
from retailsite.tenancy.training_steps import Progress, silent_progress

from .models import CustomerModelRun, CustomerPrediction, RunStatus

KEEP_SUCCEEDED_RUNS = 3


def _frame(sql: str, params: list, columns: list[str]) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=columns)


def load_customer_tables(tenant: Tenant) -> CustomerTables:
    tid = tenant.id
    orders = _frame(
        "SELECT o.customer_id, o.ordered_at, CAST(l.quantity * l.unit_price AS DOUBLE PRECISION), "
        "coalesce(cat.path, ''), o.id "
        "FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id "
        "JOIN commerce_customer c ON c.id = o.customer_id "
        "JOIN commerce_product p ON p.id = l.product_id LEFT JOIN commerce_category cat ON cat.id = p.category_id "
        "WHERE l.tenant_id = %s AND c.personalization_consent",
        [tid],
        ["customer_id", "ordered_at", "amount", "category", "order_id"],
    )
    # Top-level category: a shopper's "next category" is about departments, not leaves.
    orders["category"] = orders["category"].str.split(" > ").str[0]
    events = _frame(
        "SELECT e.customer_id, e.event_type, e.occurred_at FROM commerce_event e "
        "JOIN commerce_customer c ON c.id = e.customer_id "
        "WHERE e.tenant_id = %s AND c.personalization_consent AND e.event_type <> 'purchase'",
        [tid],
        ["customer_id", "event_type", "occurred_at"],
    )
    customers = _frame(
        "SELECT id, gender, birth_year, city, signed_up_at FROM commerce_customer "
        "WHERE tenant_id = %s AND personalization_consent",
        [tid],
        ["customer_id", "gender", "birth_year", "region", "signed_up_at"],
    )
    return CustomerTables.from_frames(orders, events, customers)


def customer_model_runs_prune(*, keep: int = KEEP_SUCCEEDED_RUNS) -> int:
    """Delete runs (and their predictions) older than the ``keep`` newest succeeded ones; returns runs deleted.

    Serving reads only the newest succeeded run (`forecasting.selectors.customer_insights_get`).
    """
    kept = list(
        CustomerModelRun.objects.filter(status=RunStatus.SUCCEEDED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:keep]
    )
    if len(kept) < keep:
        return 0
    old = list(CustomerModelRun.objects.filter(created_at__lt=kept[-1]).exclude(status=RunStatus.RUNNING))
    for run in old:
        with transaction.atomic():
            run.delete()
    return len(old)


def customer_predictions_train(*, tenant: Tenant, progress: Progress = silent_progress) -> str:
    progress("reading orders, events and customers")
    tables = load_customer_tables(tenant)
    if tables.orders.empty:
        return "customer predictions: no orders yet, nothing to learn"
    run = CustomerModelRun.objects.create(tenant=tenant)
    try:
        # One OpenMP thread: the trees spin-wait for their siblings, and on a worker shared with web processes and
        # other training (2 cores) two threads measured 25x slower than one.
        models = train_customer_models(
            tables, TrainingConfig(n_threads=1), progress=lambda message: progress(f"customers: {message}")
        )
        progress("scoring every customer")
        scores = models.score_customers(tables)
        rows = [
            CustomerPrediction(
                tenant_id=tenant.id,
                run=run,
                customer_id=int(customer_id),
                expected_spend=float(row.expected_spend),
                churn_probability=float(row.churn_probability),
                next_category=str(row.next_category or ""),
                next_category_probability=None
                if pd.isna(row.next_category_probability)
                else float(row.next_category_probability),
                segment=str(row.segment),
            )
            for customer_id, row in scores.iterrows()
        ]
        with transaction.atomic():
            CustomerPrediction.objects.bulk_create(rows, batch_size=2000)
            # No pickled models on disk: nothing loads them, and they would outlive an erasure (the figures stay).
            run.figures = models.summary()
            run.n_customers = len(rows)
            run.status = RunStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.save()
    except ValueError as error:  # e.g. "not enough history": the previous run keeps serving
        CustomerModelRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(error), finished_at=timezone.now()
        )
        return f"customer predictions skipped: {error}"
    except Exception as error:
        CustomerModelRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=repr(error)[:2000], finished_at=timezone.now()
        )
        raise
    customer_model_runs_prune()
    churn = run.figures.get("models", {}).get("churn", {}).get("figures", {})
    skipped = "".join(f"; {name} skipped: {why}" for name, why in (run.figures.get("skipped_models") or {}).items())
    return (
        f"customer predictions for {run.n_customers} customers "
        f"(churn AUC {churn.get('roc_auc') or float('nan'):.3f}){skipped}"
    )
