from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    label = "recommendations"

    def ready(self) -> None:
        from retailsite.observability.metrics import register_scrape_time_collector
        from retailsite.tenancy.training import TrainingStep, register_training_step

        from .metrics import ModelAgeCollector

        register_scrape_time_collector(ModelAgeCollector)

        from .training import recommender_train

        register_training_step(
            TrainingStep(
                "recommendations",
                order=10,
                run=lambda tenant, progress: recommender_train(tenant=tenant, progress=progress),
                description="hybrid recommender: evaluate, fit, precompute lists, activate if not worse",
                schedule_setting="retrain_time",
            )
        )
