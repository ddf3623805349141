"""What the accounts app keeps: the live emailed sign-in codes and each user's notice choices.

Codes live in the database rather than the cache: every worker and web process must see the
one a worker made, a Redis restart must not turn codes that were sent into unusable ones, and
the try count must be exact under concurrent guesses (a conditional UPDATE), not best-effort.
"""

from django.conf import settings
from django.db import models

from core.emails import EMAIL_MAX_LENGTH


class EmailCode(models.Model):
    """The one live sign-in code of an address (accounts.codes): its keyed hash, never the code."""

    address = models.CharField(max_length=EMAIL_MAX_LENGTH, unique=True)  # canonical (core.emails)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)
    # Wrong and right tries alike, counted before the comparison: at most accounts.codes.CODE_MAX_TRIES.
    tries = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"code of {self.address}"


class NoticeSettings(models.Model):
    """The security notices a user turned off (accounts.notices); no row means every notice is on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notice_settings"
    )
    kinds_off = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"notices of user {self.user_id}"
