from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import checks  # noqa: F401  (registers the system checks)
        from core.mysql import checks as mysql_checks  # noqa: F401  (MySQL's, run at migrate)
