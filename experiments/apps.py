from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "experiments"
    label = "experiments"

    def ready(self) -> None:
        # Serving and training sit below this app: it plugs itself into their hooks.
        from recommendations import arms
        from retailsite.commerce.demo_steps import DemoStep, register_demo_step

        from . import personal_data
        from .assignment import serving_arm, serving_batch, versions_in_running_experiments
        from .selectors import running_experiment_exists

        personal_data.register()  # the exposures, for export, erasure, consent withdrawal and retention
        arms.register_experiments(
            choose=serving_arm,
            running=running_experiment_exists,
            pinned_versions=versions_in_running_experiments,
            batch=serving_batch,
        )
        register_demo_step(DemoStep("experiment", order=10, run="experiments.demo.demo_experiment_step"))
