"""A user's second factors (TOTP, recovery codes) and the pending second steps of sign-ins.

WebAuthn credentials are the passkeys app's; this app does not know them (docs/mfa.md).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class TotpDevice(models.Model):
    """The user's authenticator app: pending until a first code confirms it, then a factor."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device")
    # The base32 secret, encrypted as signing keys are (tokens/kek.py, JWT_KEY_ENCRYPTION_KEYS).
    secret = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The time step (RFC 6238 T) of the last code accepted: a code of that step or an earlier
    # one is refused, so each code works once (mfa.services._totp_step_accept).
    last_used_step = models.BigIntegerField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"TOTP of user {self.user_id} ({'confirmed' if self.confirmed_at else 'pending'})"


class RecoveryCode(models.Model):
    """One single-use recovery code, as the SHA-256 of its canonical form (80 random bits: no salt needed)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "digest"], name="mfa_recovery_code_unique")]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of user {self.user_id}"


class MfaChallengePurpose(models.TextChoices):
    VERIFY = "verify", "Prove a second factor"
    ENROLL = "enroll", "Enrol a first factor (AUTH_MFA_REQUIRED)"


class MfaChallenge(models.Model):
    """The second step of one sign-in: what its `mfa_token` (never stored, only its SHA-256) unlocks.

    In the database, not the cache: every worker sees it, its single use and failure count are
    conditional UPDATEs, and losing the cache cannot resurrect or forget one.
    """

    digest = models.CharField(max_length=64, primary_key=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=8, choices=MfaChallengePurpose.choices)
    # The first factor's RFC 8176 values, which the session gets with the second's.
    amr = models.JSONField(default=list)
    # SHA-256 of the browser-binding cookie in cookie mode, else empty (mfa.services).
    binding = models.CharField(max_length=64, blank=True)
    # For a first factor that hands out a device token (accounts.devices): whether the client's device was
    # new to the user, for the notice the completed sign-in sends; null for one that hands out none.
    new_device = models.BooleanField(null=True)
    expires_at = models.DateTimeField()
    failures = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sweep of expired challenges at each new one (mfa.services._challenge_create).
            models.Index(fields=["expires_at"], name="mfa_challenge_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} challenge of user {self.user_id}"
