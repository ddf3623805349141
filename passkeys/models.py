"""A user's WebAuthn credentials, and the challenges of ceremonies under way."""

import uuid

from django.conf import settings
from django.db import models


class WebAuthnCredential(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webauthn_credentials")
    # Up to 1,023 bytes: too long for a unique index on MySQL/MariaDB (a BLOB has none), so the
    # uniqueness and the lookup go through its SHA-256.
    credential_id = models.BinaryField()
    credential_id_sha256 = models.CharField(max_length=64, unique=True)
    # COSE_Key, as the authenticator gave it.
    public_key = models.BinaryField()
    # A 32-bit unsigned counter: beyond PostgreSQL's integer.
    sign_count = models.BigIntegerField(default=0)
    # What the browser reported (usb, nfc, ble, internal, hybrid...): handed back in allowCredentials.
    transports = models.JSONField(default=list)
    # The WebAuthn user handle of the user: random, the same for all of one user's credentials.
    user_handle = models.BinaryField()
    name = models.CharField(max_length=64, blank=True)
    # Discoverable and registered with user verification: signs in alone.
    passkey = models.BooleanField(default=False)
    # The backup-eligible flag: a synced passkey's key leaves the device ("swk"), else "hwk".
    backup_eligible = models.BooleanField(default=False)
    aaguid = models.CharField(max_length=36, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name or 'WebAuthn credential'} of user {self.user_id}"


class ChallengePurpose(models.TextChoices):
    REGISTER = "register"
    ASSERT = "assert"


class WebAuthnChallenge(models.Model):
    """One ceremony's challenge: single-use (deleted by the request that answers it, whichever
    worker that is) and short-lived (expires_at)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=16, choices=ChallengePurpose.choices)
    # The user whose ceremony it is; null for a passkey sign-in (nobody is known yet).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+")
    challenge = models.BinaryField()
    # Registration only: the handle the options gave the authenticator, and whether it is a passkey.
    user_handle = models.BinaryField(null=True)
    passkey = models.BooleanField(default=False)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.purpose} challenge {self.pk}"
