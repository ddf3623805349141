"""Sessions and the refresh tokens that keep them alive.

A session is one sign-in on one device. It owns a chain of refresh tokens: each rotation
marks the presented token used (that is the blacklist) and links its successor through
`rotated_from`. Ending a session kills every token of it with one update.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class SessionEndReason(models.TextChoices):
    LOGOUT = "logout", "Logged out"
    LOGOUT_ALL = "logout_all", "Logged out everywhere"
    ENDED_BY_USER = "ended_by_user", "Ended from the session list"
    REUSE = "reuse", "Refresh token reuse detected"
    ADMIN = "admin", "Ended by an administrator"


class SessionQuerySet(models.QuerySet):
    def live(self, *, now=None):
        now = now or timezone.now()
        return self.filter(ended_at__isnull=True, refresh_expires_at__gt=now)


class Session(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auth_sessions")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    # The absolute end: no number of refreshes moves it (JWT_SESSION_MAX_AGE).
    expires_at = models.DateTimeField()
    # When the newest refresh token expires: the session dies here if nobody refreshes.
    refresh_expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, choices=SessionEndReason.choices, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    objects = SessionQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "ended_at"], name="tokens_session_user_ended")]

    def __str__(self) -> str:
        return f"session {self.id} of user {self.user_id}"


class RefreshToken(models.Model):
    jti = models.UUIDField(primary_key=True, editable=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="refresh_tokens")
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    # Set once, by the rotation that consumed it; a token with used_at is blacklisted.
    used_at = models.DateTimeField(null=True, blank=True)
    # One-to-one: a token has at most one successor, a second guard besides the
    # conditional update in token_pair_refresh.
    rotated_from = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaced_by"
    )

    def __str__(self) -> str:
        return f"refresh token {self.jti}"
