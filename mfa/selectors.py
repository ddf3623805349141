"""What the mfa app reads."""

from typing import Any

from django.db.models import Exists, OuterRef

from core.models import User
from mfa.models import RecoveryCode, TotpDevice
from passkeys.conf import passkey_settings
from passkeys.models import WebAuthnCredential
from passkeys.selectors import credentials_list

# The second-factor methods, in the order `methods` lists them.
METHOD_TOTP = "totp"
METHOD_RECOVERY_CODE = "recovery_code"
METHOD_WEBAUTHN = "webauthn"
METHOD_PASSWORD = "password"  # noqa: S105 (a method name; reauthentication only, a first factor)


def second_factor_methods(*, user_id: int) -> list[str]:
    """The methods that prove this user's second factor, in one query; empty: the user has none.

    Recovery codes count only beside a factor: they are its backup, not a factor of their own.
    WebAuthn credentials count while AUTH_WEBAUTHN is on: off, nothing could assert them.
    """
    totp = TotpDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False)
    codes = RecoveryCode.objects.filter(user=OuterRef("pk"), used_at__isnull=True)
    webauthn = WebAuthnCredential.objects.filter(user=OuterRef("pk"))
    row = User.objects.filter(pk=user_id).values_list(Exists(totp), Exists(codes), Exists(webauthn)).first()
    if row is None:
        return []
    has_totp, has_codes, has_webauthn = row[0], row[1], row[2] and passkey_settings().enabled
    if not (has_totp or has_webauthn):
        return []
    flagged = ((METHOD_TOTP, has_totp), (METHOD_RECOVERY_CODE, has_codes), (METHOD_WEBAUTHN, has_webauthn))
    return [method for method, present in flagged if present]


def has_factor(*, user_id: int) -> bool:
    """Whether a confirmed TOTP or a WebAuthn credential remains (whatever AUTH_WEBAUTHN says), in one
    query: what keeps recovery codes alive."""
    totp = TotpDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False)
    webauthn = WebAuthnCredential.objects.filter(user=OuterRef("pk"))
    return User.objects.filter(pk=user_id).filter(Exists(totp) | Exists(webauthn)).exists()


def mfa_status(*, user_id: int) -> dict[str, Any]:
    """GET /api/users/me/mfa: the user's factors (three queries)."""
    return {
        "totp": TotpDevice.objects.filter(user_id=user_id, confirmed_at__isnull=False).exists(),
        "webauthn": credentials_list(user=user_id),
        "recovery_codes_left": RecoveryCode.objects.filter(user_id=user_id, used_at__isnull=True).count(),
    }
