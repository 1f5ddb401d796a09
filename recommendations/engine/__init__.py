"""The recommendation engine: numpy/scipy/scikit-learn/implicit in, arrays and dataclasses out. No Django.

Typical use by the Django layer (one tenant at a time; customers and products indexed 0..n-1):

    data = TrainingData(events=EventLog(...), config=InteractionConfig(), catalog=Catalog(...),
                        customers=CustomerInfo(...))
    model = HybridRecommender(HybridConfig()).fit(data)          # blend chosen on two time-ordered folds
    model.blend_                                                 # why: each component's fold NDCG, the decision
    top = model.recommend(None, n=50, exclude=data.purchased)    # every customer, batched, with reasons
    text = render_reason(top.reasons.at(row, col), item_names, category_names)

Offline figures for a model version: `split_per_user_by_time`, `relevance_matrix`, `evaluate_recommendations`.
"""

import importlib

# Public names and the module each lives in, imported on first use (PEP 562): serving reads one small module
# (`reasons`) without paying for scikit-learn, implicit and pandas, which only training needs.
_EXPORTS = {
    "ALSRecommender": "recommendations.engine.als",
    "Recommendation": "recommendations.engine.base",
    "Recommender": "recommendations.engine.base",
    "TopN": "recommendations.engine.base",
    "top_n": "recommendations.engine.base",
    "ContentRecommender": "recommendations.engine.content",
    "Catalog": "recommendations.engine.data",
    "CustomerInfo": "recommendations.engine.data",
    "EVENT_TYPES": "recommendations.engine.data",
    "EventLog": "recommendations.engine.data",
    "InteractionConfig": "recommendations.engine.data",
    "ItemText": "recommendations.engine.data",
    "TrainingData": "recommendations.engine.data",
    "build_interaction_matrix": "recommendations.engine.data",
    "event_weights": "recommendations.engine.data",
    "EASERecommender": "recommendations.engine.ease",
    "AccuracyMetrics": "recommendations.engine.evaluation",
    "EvaluationReport": "recommendations.engine.evaluation",
    "cutoff_for_fraction": "recommendations.engine.evaluation",
    "evaluate_recommendations": "recommendations.engine.evaluation",
    "gini": "recommendations.engine.evaluation",
    "intra_list_diversity": "recommendations.engine.evaluation",
    "relevance_matrix": "recommendations.engine.evaluation",
    "split_global_by_time": "recommendations.engine.evaluation",
    "split_per_user_by_time": "recommendations.engine.evaluation",
    "FrequentlyBoughtTogetherRecommender": "recommendations.engine.fbt",
    "BlendChoice": "recommendations.engine.blending",
    "choose_blend": "recommendations.engine.blending",
    "time_ordered_folds": "recommendations.engine.blending",
    "ComponentReport": "recommendations.engine.hybrid",
    "HybridConfig": "recommendations.engine.hybrid",
    "HybridRecommender": "recommendations.engine.hybrid",
    "ItemKNNRecommender": "recommendations.engine.item_knn",
    "CategoryPopularityRecommender": "recommendations.engine.popularity",
    "PopularityRecommender": "recommendations.engine.popularity",
    "TrendingRecommender": "recommendations.engine.popularity",
    "REASON_KINDS": "recommendations.engine.reasons",
    "Reason": "recommendations.engine.reasons",
    "ReasonArrays": "recommendations.engine.reasons",
    "ReasonKind": "recommendations.engine.reasons",
    "render_reason": "recommendations.engine.reasons",
    "SegmentPopularityRecommender": "recommendations.engine.segments",
    "encode_attributes": "recommendations.engine.segments",
    "SequentialItemToItemRecommender": "recommendations.engine.sequential",
    "SocialRecommender": "recommendations.engine.social",
    "DEFAULT_GRIDS": "recommendations.engine.tuning",
    "grid_search": "recommendations.engine.tuning",
    "make_recommender": "recommendations.engine.tuning",
    "validation_split": "recommendations.engine.tuning",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_GRIDS",
    "EVENT_TYPES",
    "REASON_KINDS",
    "ALSRecommender",
    "AccuracyMetrics",
    "BlendChoice",
    "Catalog",
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
    "relevance_matrix",
    "render_reason",
    "split_global_by_time",
    "split_per_user_by_time",
    "time_ordered_folds",
    "top_n",
    "validation_split",
]
