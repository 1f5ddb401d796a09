from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    label = "recommendations"

    def ready(self) -> None:
        from retailsite.observability.metrics import register_scrape_time_collector
        from retailsite.tenancy.training import register_training_step

        from .metrics import ModelAgeCollector
        from .steps import RECOMMENDATIONS_STEP

        register_scrape_time_collector(ModelAgeCollector)

        register_training_step(RECOMMENDATIONS_STEP)
