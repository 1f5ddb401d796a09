from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    label = "recommendations"

    def ready(self) -> None:
        from retailsite.observability.scrape import register_scrape_time_collector
        from retailsite.tenancy.training_steps import register_training_step

        from . import personal_data
        from .steps import RECOMMENDATIONS_STEP

        personal_data.register()  # the precomputed lists, for export, erasure and consent withdrawal
        register_scrape_time_collector("recommendations.metrics.ModelAgeCollector")  # imported at scrape
        register_training_step(RECOMMENDATIONS_STEP)
