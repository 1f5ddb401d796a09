"""The recommendations training step, declared here (light) and run from `recommendations.training` (heavy)."""

from retailsite.tenancy.training_steps import TrainingStep

RECOMMENDATIONS_STEP = TrainingStep(
    "recommendations",
    order=10,
    run="recommendations.training.run_recommendations_step",
    description="hybrid recommender: evaluate, fit, precompute lists, activate if not worse",
    schedule_setting="retrain_time",
    enabled_setting="retrain_enabled",
    retrain_on_erasure=True,
)
