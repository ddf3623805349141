from django.apps import AppConfig


class DevIdpConfig(AppConfig):
    name = "devidp"
    verbose_name = "Development identity provider"

    def ready(self) -> None:
        from devidp import checks  # noqa: F401  (registers the system check)
