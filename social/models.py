from django.conf import settings
from django.db import models

from core.fields import IdentifierField


class SocialAccount(models.Model):
    """One identity at one provider, linked to a user; updated at each login through it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="social_accounts")
    provider = IdentifierField(max_length=50)
    # The provider's stable user id (OpenID Connect `sub`, Kakao's numeric `id`): case-sensitive,
    # so compared byte for byte on every database (core.fields).
    subject = IdentifierField(max_length=255)
    # What the provider said at the last login; may be unverified, so never trusted by itself.
    email = models.EmailField(max_length=254, blank=True)
    email_verified = models.BooleanField(default=False)
    profile = models.JSONField(default=dict, blank=True)
    first_login_at = models.DateTimeField()
    last_login_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Concurrent first logins of one identity: the second insert fails and retries as an update.
            models.UniqueConstraint(fields=["provider", "subject"], name="social_account_provider_subject_unique"),
        ]
        ordering = ["provider", "subject"]

    def __str__(self) -> str:
        return f"{self.provider}:{self.subject}"
