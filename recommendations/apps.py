from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    label = "recommendations"

    def ready(self) -> None:
        from retailsite.observability.scrape import register_scrape_time_collector
        from retailsite.privacy.triggers import statement_level_table_register
        from retailsite.tenancy.training_steps import register_training_step

        from . import personal_data, tenant_settings
        from .steps import RECOMMENDATIONS_STEP

        personal_data.register()  # the precomputed lists, for export, erasure and consent withdrawal
        tenant_settings.register()
        # Lists are written a version at a time: one audit entry per statement, not per row.
        statement_level_table_register(
            "recommendations_customerrecommendations", "recommendations_productneighbours", "recommendations_rankedlist"
        )
        register_scrape_time_collector("recommendations.metrics.ModelAgeCollector")  # imported at scrape
        register_training_step(RECOMMENDATIONS_STEP)
