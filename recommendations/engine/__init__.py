"""The recommendation engine: numpy/scipy/scikit-learn/implicit in, arrays and dataclasses out. No Django.

Typical use by the Django layer (one tenant at a time; customers and products indexed 0..n-1):

    data = TrainingData(events=EventLog(...), config=InteractionConfig(), catalog=Catalog(...),
                        customers=CustomerInfo(...))
    model = HybridRecommender(HybridConfig()).fit(data)          # blend chosen on two time-ordered folds
    model.blend_                                                 # why: each component's fold NDCG, the decision
    top = model.recommend(None, n=50, exclude=data.purchased)    # every customer, batched, with reasons
    positions = apply_business_rules(top.items[row], top.scores[row], rules=BusinessRules(...),
                                     catalog=CatalogState(...), n=10, purchased_items=...)
    text = render_reason(top.reasons.at(row, col), item_names, category_names)

Offline figures for a model version: `split_per_user_by_time`, `relevance_matrix`, `evaluate_recommendations`.
"""

from recommendations.engine.als import ALSRecommender
from recommendations.engine.base import (
    Recommendation,
    Recommender,
    TopN,
    model_from_bytes,
    model_to_bytes,
    top_n,
)
from recommendations.engine.blending import BlendChoice, choose_blend, time_ordered_folds
from recommendations.engine.content import ContentRecommender
from recommendations.engine.data import (
    EVENT_TYPES,
    Catalog,
    CustomerInfo,
    EventLog,
    InteractionConfig,
    ItemText,
    TrainingData,
    build_interaction_matrix,
    event_weights,
)
from recommendations.engine.ease import EASERecommender
from recommendations.engine.evaluation import (
    AccuracyMetrics,
    EvaluationReport,
    cutoff_for_fraction,
    evaluate_recommendations,
    gini,
    intra_list_diversity,
    relevance_matrix,
    split_global_by_time,
    split_per_user_by_time,
)
from recommendations.engine.fbt import FrequentlyBoughtTogetherRecommender
from recommendations.engine.hybrid import ComponentReport, HybridConfig, HybridRecommender
from recommendations.engine.item_knn import ItemKNNRecommender
from recommendations.engine.popularity import (
    CategoryPopularityRecommender,
    PopularityRecommender,
    TrendingRecommender,
)
from recommendations.engine.reasons import REASON_KINDS, Reason, ReasonArrays, ReasonKind, render_reason
from recommendations.engine.rules import (
    BusinessRules,
    CatalogState,
    allowed_item_mask,
    apply_business_rules,
    mmr_select,
)
from recommendations.engine.segments import AGE_BAND_LABELS, SegmentPopularityRecommender, age_band, encode_attributes
from recommendations.engine.sequential import SequentialItemToItemRecommender
from recommendations.engine.social import SocialRecommender
from recommendations.engine.tuning import DEFAULT_GRIDS, grid_search, make_recommender, validation_split

__all__ = [
    "AGE_BAND_LABELS",
    "DEFAULT_GRIDS",
    "EVENT_TYPES",
    "REASON_KINDS",
    "ALSRecommender",
    "AccuracyMetrics",
    "BlendChoice",
    "BusinessRules",
    "Catalog",
    "CatalogState",
    "CategoryPopularityRecommender",
    "ComponentReport",
    "ContentRecommender",
    "CustomerInfo",
    "EASERecommender",
    "EvaluationReport",
    "EventLog",
    "FrequentlyBoughtTogetherRecommender",
    "HybridConfig",
    "HybridRecommender",
    "InteractionConfig",
    "ItemKNNRecommender",
    "ItemText",
    "PopularityRecommender",
    "Reason",
    "ReasonArrays",
    "ReasonKind",
    "Recommendation",
    "Recommender",
    "SegmentPopularityRecommender",
    "SequentialItemToItemRecommender",
    "SocialRecommender",
    "TopN",
    "TrainingData",
    "TrendingRecommender",
    "age_band",
    "allowed_item_mask",
    "apply_business_rules",
    "build_interaction_matrix",
    "choose_blend",
    "cutoff_for_fraction",
    "encode_attributes",
    "evaluate_recommendations",
    "event_weights",
    "gini",
    "grid_search",
    "intra_list_diversity",
    "make_recommender",
    "mmr_select",
    "model_from_bytes",
    "model_to_bytes",
    "relevance_matrix",
    "render_reason",
    "split_global_by_time",
    "split_per_user_by_time",
    "time_ordered_folds",
    "top_n",
    "validation_split",
]
