from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    label = "recommendations"

    def ready(self) -> None:
        from retailsite.tenancy.training import register_training_step

        from .steps import RECOMMENDATIONS_STEP

        register_training_step(RECOMMENDATIONS_STEP)
