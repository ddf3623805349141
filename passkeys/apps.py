from django.apps import AppConfig


class PasskeysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "passkeys"

    def ready(self) -> None:
        from passkeys import checks  # noqa: F401  (registers the system check)
