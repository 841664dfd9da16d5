from django.apps import AppConfig


class ExportJobsConfig(AppConfig):
    name = "exportjobs"
    verbose_name = "Export jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import access, languages, signin
        from .pleo import client

        client.connect_signals()
        access.connect_signals()
        languages.connect_signals()
        signin.connect_signals()
