"""A store's recommender training run: read, evaluate, fit, precompute, decide.

1. Read the store's interactions (consenting customers only) into the engine's arrays.
2. Offline evaluation on a time-based split (each customer's last 20% of events held out):
   the hybrid chooses its blend on two time-ordered folds carved from the training part, and is
   scored on the held-out part — accuracy, coverage, novelty, diversity, exposure
   concentration, long-tail share, and accuracy per customer group (gender, age band); each
   component's NDCG@10 alone (on the folds and on the held-out part) is stored beside the blend's.
3. Refit on all data with the tuned hyperparameters and blend (no second tuning; ALS factors and
   the catalog's text features start from the evaluation fit).
4. Precompute serving lists: top-N per customer, similar items and frequently-bought-together
   per product, popular / trending (overall and per category), all tied to the new version.
5. Activate the version atomically unless its NDCG@10 is worse than the active one's by more
   than the tenant's tolerance. Any failure leaves the previous version serving.
"""

from __future__ import annotations

import os
import time

import numpy as np
import scipy.sparse as sp
from django.db import transaction
from django.db.models import Max

from recommendations.engine.base import Recommender
from recommendations.engine.data import TrainingData
from recommendations.engine.evaluation import (
    accuracy_by_group,
    evaluate_recommendations,
    per_user_accuracy,
    relevance_matrix,
    split_per_user_by_time,
)
from recommendations.engine.hybrid import HybridConfig, HybridRecommender
from recommendations.engine.tuning import sample_users
from retailsite.bulk import bulk_insert
from retailsite.commerce.models import Product
from retailsite.tenancy.models import Tenant
from retailsite.tenancy.training_steps import Progress, silent_progress

from .arms import pinned_version_ids
from .data_loading import TenantTrainingData, load_training_data
from .models import CustomerRecommendations, ModelVersion, ProductNeighbours, RankedList
from .services import model_version_decide, model_version_mark_failed
from .stored_lists import StoredList, pack_list, pack_lists

TOP_N = 50
NEIGHBOURS_N = 20
RANKED_N = 100
EVAL_K = 10


def _engine_threads() -> int:
    """Threads for ALS and for the batched top-N work: the cores this process may use, at most two (a
    retrain shares its machine with serving)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(2, cores))


def run_recommendations_step(tenant: Tenant, progress: Progress) -> str:
    """The "recommendations" training step (declared in `recommendations/steps.py`)."""
    return recommender_train(tenant=tenant, progress=progress)


def recommender_train(*, tenant: Tenant, progress: Progress = silent_progress) -> str:
    progress("reading interactions")
    loaded = load_training_data(tenant)
    data = loaded.data
    if len(data.events) == 0 or data.n_items == 0:
        return "recommendations: no interactions yet; popular items are served"
    # Under the step's lock no other training is alive: a version still "training" lost its worker.
    ModelVersion.objects.filter(status=ModelVersion.Status.TRAINING).update(
        status=ModelVersion.Status.FAILED, status_reason="worker lost before this version was finished"
    )
    last_number = ModelVersion.objects.aggregate(last=Max("number"))["last"] or 0  # under the step's lock
    version = ModelVersion.objects.create(
        number=last_number + 1,
        algorithm="hybrid",
        data_cutoff=loaded.cutoff,
        n_customers=data.n_users,
        n_products=data.n_items,
        n_interactions=len(data.events),
    )
    try:
        started = time.monotonic()
        metrics, final_config, evaluated = _evaluate(loaded, progress)
        progress("fitting the hybrid on all data")
        # Same blend and hyperparameters, no tuning again; ALS and the text features start from the evaluation fit.
        model = HybridRecommender(final_config, progress=lambda m: progress(f"fit: {m}")).fit(data, evaluated)
        del evaluated
        fit_seconds = time.monotonic() - started
        _write_lists(version, loaded, model, progress)
        # No model file: nothing ever loads one (serving reads the stored lists), and a file would keep erased
        # customers' latent factors on disk beyond the erasure.
        progress("storing the model and deciding activation")
        version.metrics = metrics
        version.params = {
            "components": list(model.components_),
            "weights": model.weights_,
            "top_n": TOP_N,
            "event_weights": dict(data.config.event_weights),
            "half_life_days": data.config.half_life_days,
        }
        version.fit_seconds = fit_seconds
        version.save(update_fields=["metrics", "params", "fit_seconds"])
        model_version_decide(version=version, tolerance=float(tenant.setting("activation_tolerance")))
    except BaseException as error:
        # The lists of a failed version are never served (only the active version's are read).
        model_version_mark_failed(version_id=version.pk, error=f"{type(error).__name__}: {error}")
        raise
    version.refresh_from_db()
    progress("pruning lists of old versions")
    # Lists of versions too old to roll back to are dead weight (a 50k-customer store writes 50k rows a run).
    prune_old_versions()
    return (
        f"recommendations v{version.number} {version.status}: NDCG@10 {metrics.get('ndcg@10', 0):.4f}, "
        f"coverage {metrics.get('coverage', 0):.3f} — {version.status_reason}"
    )


def _evaluate(loaded: TenantTrainingData, progress: Progress) -> tuple[dict, HybridConfig, HybridRecommender]:
    data = loaded.data
    # One BLAS thread: under contention more threads were several times slower. ALS has its own threads, and
    # the top-N work runs whole batches on threads (`n_jobs`).
    config = HybridConfig(n_threads=1, als_threads=_engine_threads())
    train_log, test_log = split_per_user_by_time(data.events, 0.2)
    train = data.with_events(train_log)
    progress("evaluation: tuning and fitting on the training part")
    model = HybridRecommender(config, progress=lambda m: progress(f"evaluation: {m}")).fit(train)
    relevant = relevance_matrix(test_log, exclude=train.seen)
    users = np.flatnonzero(np.diff(relevant.indptr) > 0)
    final = HybridConfig(
        n_threads=config.n_threads,
        als_threads=config.als_threads,
        weights=dict(model.weights_),
        component_params={name: dict(report.params) for name, report in model.report_.items()},
        new_products_inherit=model.inherits_for_new_products,
    )
    if not len(users):
        return {"note": "no held-out interactions to evaluate on"}, final, model
    progress(f"evaluation: scoring {len(users)} customers")
    top = model.recommend(users, n=EVAL_K, exclude=train.seen, with_reasons=False, n_jobs=_engine_threads())
    report = evaluate_recommendations(
        top.items, relevant, k=EVAL_K, users=users, train=train.matrix, item_categories=data.item_categories
    )
    per_user = per_user_accuracy(top.items, relevant[users], EVAL_K)
    by_group = {
        attribute: accuracy_by_group(top.items, relevant, k=EVAL_K, users=users, user_groups=labels, per_user=per_user)
        for attribute, labels in loaded.groups.items()
    }
    accuracy = report.accuracy
    metrics = {
        **_component_figures(model, train, relevant, users),
        f"precision@{EVAL_K}": accuracy.precision,
        f"recall@{EVAL_K}": accuracy.recall,
        f"ndcg@{EVAL_K}": accuracy.ndcg,
        f"map@{EVAL_K}": accuracy.map,
        f"hit_rate@{EVAL_K}": accuracy.hit_rate,
        "evaluated_customers": accuracy.n_users,
        "coverage": report.coverage,
        "novelty": report.novelty,
        "intra_list_diversity": report.intra_list_diversity,
        "gini": report.gini,
        "long_tail_share": report.long_tail_share,
        "split": "per-customer last 20% of events by time",
        "groups": {
            attribute: {
                group: {
                    f"ndcg@{EVAL_K}": m.ndcg,
                    f"recall@{EVAL_K}": m.recall,
                    f"precision@{EVAL_K}": m.precision,
                    f"hit_rate@{EVAL_K}": m.hit_rate,
                    "users": m.n_users,
                }
                for group, m in groups.items()
            }
            for attribute, groups in by_group.items()
        },
    }
    return metrics, final, model


# Evaluation customers on which each component is scored alone (a sample keeps big stores cheap).
COMPONENT_SAMPLE = 2000


def _component_figures(
    model: HybridRecommender, train: TrainingData, relevant: sp.csr_matrix, users: np.ndarray
) -> dict:
    """Why the version is what it is: every component's NDCG@10 alone on the blend's folds (each fold's held-out
    part) and on the evaluation split, next to the blend's, and the decision taken."""
    sample = sample_users(users, COMPONENT_SAMPLE)
    relevant_sample = relevant[sample]

    def held_out(recommender: Recommender) -> float:
        top = recommender.recommend(sample, n=EVAL_K, exclude=train.seen, with_reasons=False)
        return round(float(per_user_accuracy(top.items, relevant_sample, EVAL_K)["ndcg"].mean()), 4)

    components = {}
    for name, report in model.report_.items():
        figures: dict = {"weight": round(report.weight, 4)}
        if report.fold_ndcg is not None:
            figures["folds_ndcg@10"] = [round(value, 4) for value in report.fold_ndcg]
        if name in model.components_:
            figures["ndcg@10"] = held_out(model.components_[name])
        components[name] = figures
    figures = {"components": components, "component_sample": len(sample)}
    choice = model.blend_
    if choice is not None:
        figures["blend"] = {
            "served": choice.decision,
            "best_single": choice.best_single,
            "tied": choice.tied,
            "folds_ndcg@10": [round(value, 4) for value in choice.blend_ndcg],
            "support": round(choice.blend_support, 3),
            "dropped": choice.dropped,
            "ndcg@10": held_out(model),
        }
    check = model.new_product_check_
    if check is not None:  # staff see why new products do or do not inherit their neighbours' scores
        figures["new_products"] = {
            "kept": check.kept,
            "folds_ndcg@10_with": [round(value, 4) for value in check.ndcg_with],
            "folds_ndcg@10_without": [round(value, 4) for value in check.ndcg_without],
            "support_without": round(check.support_without, 3),
            "new_products_per_fold": check.new_products,
        }
    return figures


def _write_lists(
    version: ModelVersion, loaded: TenantTrainingData, model: HybridRecommender, progress: Progress
) -> None:
    data = loaded.data
    product_ids, customer_ids, category_ids = loaded.product_ids, loaded.customer_ids, loaded.category_ids
    active = set(Product.objects.filter(active=True).values_list("id", flat=True))
    item_mask = np.array([pid in active for pid in product_ids.tolist()], dtype=bool)

    progress("precomputing top-N for every customer")
    top = model.recommend(None, n=TOP_N, exclude=data.purchased, item_mask=item_mask, n_jobs=_engine_threads())

    def customer_rows():
        lists = pack_lists(
            product_ids,
            top.items,
            top.scores,
            top.reasons.kinds,
            top.reasons.anchors,
            top.reasons.categories,
            category_ids,
        )
        for row, (customer_id, items) in enumerate(zip(customer_ids[top.users].tolist(), lists, strict=True)):
            if row % 5000 == 0:
                progress("writing customer lists", row, len(top.users))
            yield version.pk, customer_id, items
        progress("writing customer lists", len(top.users), len(top.users))

    with transaction.atomic():
        bulk_insert(
            CustomerRecommendations, ["model_version", "customer", "items"], customer_rows(), json_columns=["items"]
        )

    progress("precomputing similar items and bought-together per product")

    all_items = np.arange(data.n_items)
    similar_ids, similar_scores = model.similar_items_batch(
        all_items, NEIGHBOURS_N, item_mask=item_mask, n_jobs=_engine_threads()
    )
    together_ids, together_scores = model.bought_together_batch(all_items, NEIGHBOURS_N)
    # Unavailable products never appear as "bought together" either.
    together_ids = np.where((together_ids >= 0) & item_mask[np.maximum(together_ids, 0)], together_ids, -1)

    def neighbour_rows():
        similar = pack_lists(product_ids, similar_ids, similar_scores)
        together = pack_lists(product_ids, together_ids, together_scores)
        for product_id, similar_list, together_list in zip(product_ids.tolist(), similar, together, strict=True):
            yield version.pk, product_id, similar_list, together_list

    with transaction.atomic():
        bulk_insert(
            ProductNeighbours,
            ["model_version", "product", "similar", "bought_together"],
            neighbour_rows(),
            json_columns=["similar", "bought_together"],
        )

    ranked: list[tuple[int, str, StoredList]] = []
    for key, name in (("popular", "popularity"), ("trending", "trending")):
        component = model.components_.get(name)
        if component is None:
            continue
        items = component.top_items(RANKED_N)  # type: ignore[attr-defined]
        items = items[item_mask[items]] if len(items) else items
        scores = np.linspace(1.0, 0.01, num=len(items)) if len(items) else np.array([])
        ranked.append((version.pk, key, pack_list(product_ids, np.asarray(items), scores)))
        for category in np.unique(data.item_categories[data.item_categories >= 0]):
            in_category = component.top_items(RANKED_N, category=int(category))  # type: ignore[attr-defined]
            in_category = in_category[item_mask[in_category]] if len(in_category) else in_category
            if len(in_category):
                ranked.append(
                    (
                        version.pk,
                        f"{key}:category:{int(category_ids[category])}",
                        pack_list(product_ids, np.asarray(in_category), np.linspace(1.0, 0.01, num=len(in_category))),
                    )
                )
    with transaction.atomic():
        bulk_insert(RankedList, ["model_version", "key", "items"], ranked, json_columns=["items"])


def prune_old_versions(*, keep: int = 3) -> int:
    """Delete the lists of versions that can no longer be rolled back to (keep the newest few)."""
    stale = list(
        ModelVersion.objects.exclude(status=ModelVersion.Status.ACTIVE)
        .exclude(pk__in=pinned_version_ids())  # versions an online experiment serves
        .order_by("-created_at")
        .values_list("id", flat=True)[keep:]
    )
    for model in (CustomerRecommendations, ProductNeighbours, RankedList):
        model.objects.filter(model_version_id__in=stale).delete()
    return len(stale)
