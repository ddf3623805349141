"""What the mfa app reads."""

from typing import Any

from django.db.models import Exists, OuterRef

from core.models import User
from mfa.models import RecoveryCode, TotpDevice

# The second-factor methods, in the order `methods` lists them. "webauthn" joins with the passkeys app.
METHOD_TOTP = "totp"
METHOD_RECOVERY_CODE = "recovery_code"
METHOD_PASSWORD = "password"  # noqa: S105 (a method name; reauthentication only, a first factor)


def second_factor_methods(*, user_id: int) -> list[str]:
    """The methods that prove this user's second factor, in one query; empty: the user has none.

    Recovery codes count only beside a factor: they are its backup, not a factor of their own.
    """
    totp = TotpDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False)
    codes = RecoveryCode.objects.filter(user=OuterRef("pk"), used_at__isnull=True)
    row = User.objects.filter(pk=user_id).values_list(Exists(totp), Exists(codes)).first()
    if row is None or not row[0]:
        return []
    return [METHOD_TOTP, METHOD_RECOVERY_CODE] if row[1] else [METHOD_TOTP]


def mfa_status(*, user_id: int) -> dict[str, Any]:
    """GET /api/users/me/mfa: the user's factors. `webauthn` is the passkeys app's list, joined at merge."""
    return {
        "totp": TotpDevice.objects.filter(user_id=user_id, confirmed_at__isnull=False).exists(),
        "webauthn": [],
        "recovery_codes_left": RecoveryCode.objects.filter(user_id=user_id, used_at__isnull=True).count(),
    }
