from django.apps import AppConfig


class ExportJobsConfig(AppConfig):
    name = "exportjobs"
    verbose_name = "Export jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import __version__, access, budgets, languages, metrics, signin
        from .pleo import client

        # The Pleo client knows nothing of the desk: it is handed what the desk does around each call.
        client.configure(
            before_call=budgets.charge,
            after_call=metrics.record_pleo_call,
            user_agent=f"ExportJobDesk/{__version__}",
        )
        client.connect_signals()
        access.connect_signals()
        languages.connect_signals()
        signin.connect_signals()
