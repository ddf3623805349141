"""Sessions and the refresh tokens that keep them alive.

A session is one sign-in on one device. It owns a chain of refresh tokens: each rotation
inserts a successor whose `rotated_from` names the presented token. That link is the
blacklist: a token with a successor is used, and since `rotated_from` is unique, the
database itself lets only one successor exist, whatever races. Ending a session kills
every token of it with one update.
"""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, cast

from django.conf import settings
from django.db import models
from django.db.models import Case, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from core.fields import IdentifierField, PartialIndex


class SessionEndReason(models.TextChoices):
    LOGOUT = "logout", "Logged out"
    LOGOUT_ALL = "logout_all", "Logged out everywhere"
    ENDED_BY_USER = "ended_by_user", "Ended from the session list"
    REUSE = "reuse", "Refresh token reuse detected"
    ADMIN = "admin", "Ended by an administrator"
    PASSWORD_CHANGED = "password_changed", "Password changed or reset"
    USER_DISABLED = "user_disabled", "User disabled or deleted"
    SIGN_IN_METHOD_REMOVED = "sign_in_method_removed", "The user's last way to sign in was removed"
    EMAIL_CLAIMED = "email_claimed", "A provider proved the unverified email belongs to someone else"
    SESSION_LIMIT = "session_limit", "Least recently used beyond JWT_MAX_SESSIONS_PER_USER"
    MFA_RESET = "mfa_reset", "An administrator reset the user's second factors"


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class SessionActivity(TypedDict):
    """What SessionQuerySet.with_activity annotates a session with."""

    last_used_at: datetime
    refresh_expires_at: datetime


class SessionQuerySet(models.QuerySet["Session"]):
    def with_activity(self) -> "QuerySet[WithAnnotations[Session, SessionActivity]]":
        """Adds `last_used_at` (the newest token's issue) and `refresh_expires_at` (its expiry).

        The newest token, not an aggregate over the chain: one probe of the (session,
        issued_at) index per session, whatever the number of tokens. It is the one that can
        still refresh, and its expiry is the chain's latest (each is capped by the session's end).
        """
        newest = RefreshToken.objects.filter(session=OuterRef("pk")).order_by("-issued_at")
        # The plugin types annotate()'s result with an anonymous TypedDict that no declared
        # return type can name: the cast names it, so callers read the annotations typed.
        return cast(
            "QuerySet[WithAnnotations[Session, SessionActivity]]",
            self.annotate(
                last_used_at=Subquery(newest.values("issued_at")[:1]),
                refresh_expires_at=Subquery(newest.values("expires_at")[:1]),
            ),
        )

    def live(self, *, now: datetime | None = None) -> "QuerySet[WithAnnotations[Session, SessionActivity]]":
        now = now or timezone.now()
        return self.with_activity().filter(ended_at__isnull=True, expires_at__gt=now, refresh_expires_at__gt=now)


class Session(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auth_sessions")
    created_at = models.DateTimeField(default=timezone.now)
    # The absolute end: no number of refreshes moves it (JWT_SESSION_MAX_AGE).
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, choices=SessionEndReason.choices, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # How the user signed in (docs/mfa.md): the access tokens' `auth_time`, `amr` (RFC 8176) and
    # `acr`. A refresh keeps them; only a sign-in or a reauthentication (mfa.services) sets them.
    auth_time = models.DateTimeField(default=timezone.now)
    amr = models.JSONField(default=list, blank=True)
    acr = models.CharField(max_length=8, default="aal1")

    objects = SessionQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["user", "ended_at"], name="tokens_session_user_ended"),
            # The denylist's rebuild reads the sessions ended lately (tokens.denylist).
            PartialIndex(fields=["ended_at"], name="tokens_session_ended", where=Q(ended_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"session {self.id} of user {self.user_id}"


class RefreshToken(models.Model):
    jti = models.UUIDField(primary_key=True, editable=False)
    # Indexed with issued_at below, which serves the foreign key's lookups as well.
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="refresh_tokens", db_index=False)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    # One-to-one, so unique: the guard that makes rotation race-safe.
    rotated_from = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaced_by"
    )

    class Meta:
        indexes = [
            # A session's newest token in one probe (SessionQuerySet.with_activity): the session list,
            # the per-user cap, the admin.
            models.Index(fields=["session", "issued_at"], name="tokens_refresh_session_issued"),
        ]

    def __str__(self) -> str:
        return f"refresh token {self.jti}"

    @property
    def is_used(self) -> bool:
        """Rotated already (blacklisted). No query when loaded with select_related("replaced_by") or by
        tokens.selectors.refresh_token_get."""
        return hasattr(self, "replaced_by")


class SigningKeyState(models.TextChoices):
    CURRENT = "current", "Current: the newest key, signs from `signs_from`"
    RETIRED = "retired", "Retired: signs until `retired_at`, then verifies until its tokens expire"


class SigningKey(models.Model):
    """One key of the set that signs and verifies the API's tokens (tokens/keys.py).

    Every process of every host reads these rows, so a rotation reaches them all without a
    restart. `kid` is the RFC 7638 thumbprint of the key's public half (of the key itself for
    HMAC), so it names the key without revealing it.
    """

    kid = IdentifierField(max_length=43, primary_key=True, editable=False)
    algorithm = models.CharField(max_length=8, editable=False)
    state = models.CharField(max_length=8, choices=SigningKeyState.choices, default=SigningKeyState.CURRENT)
    # PEM (PKCS #8) for asymmetric algorithms, the base64url secret for HMAC, encrypted under
    # JWT_KEY_ENCRYPTION_KEYS (tokens/kek.py). Never shown, never decrypted by the admin.
    private_key = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Published (JWKS) from `created_at`, signing from here: verifiers fetch it first (JWT_KEY_ACTIVATION_DELAY).
    signs_from = models.DateTimeField(default=timezone.now, editable=False)
    # When it stops signing (its successor's `signs_from`); may be ahead while the successor waits.
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A retired key leaves the JWKS here: its last access token has expired, plus the activation delay.
    published_until = models.DateTimeField(null=True, blank=True, editable=False)
    # A retired key stops verifying here, refresh tokens included (then flush_expired_tokens deletes it).
    verifies_until = models.DateTimeField(null=True, blank=True, editable=False)
    # True for the current key, NULL for every other: a unique column holds any number of NULLs
    # and one True, so the database admits one current key. A unique constraint with a
    # condition would say it more directly, but MySQL and MariaDB have none.
    is_current = models.GeneratedField(
        expression=Case(When(state=SigningKeyState.CURRENT, then=Value(True)), default=None),
        output_field=models.BooleanField(null=True),
        db_persist=True,
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["is_current"], name="tokens_one_current_signing_key")]

    def __str__(self) -> str:
        return f"{self.algorithm} key {self.kid} ({self.state})"
