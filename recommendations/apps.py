from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    label = "recommendations"

    def ready(self) -> None:
        from retailsite.tenancy.training import TrainingStep, register_training_step

        from . import personal_data
        from .training import recommender_train

        personal_data.register()  # the precomputed lists, for export, erasure and consent withdrawal

        register_training_step(
            TrainingStep(
                "recommendations",
                order=10,
                run=lambda tenant, progress: recommender_train(tenant=tenant, progress=progress),
                description="hybrid recommender: evaluate, fit, precompute lists, activate if not worse",
                schedule_setting="retrain_time",
            )
        )
