"""What the mfa app does: TOTP and recovery codes, the second step of every sign-in, and step-up.

Two functions are the seams other apps use (docs/mfa.md):
- `sign_in`: every first-factor sign-in ends here. It starts the session, or, for a user with a
  second factor (or one that AUTH_MFA_REQUIRED makes enrol), answers 403 `mfa_required` /
  `mfa_enrollment_required` with a short-lived, single-use `mfa_token` and no tokens.
- `require_recent_strong_sign_in`: what a sensitive action checks first (403 `reauthentication_required`).

Every code is accepted once, by a conditional UPDATE that only one of racing requests wins: a TOTP
code moves the device's last used time step forward, a recovery code sets its `used_at`, an
mfa_token its `used_at`. Wrong codes count against the user (API_THROTTLE_MFA) and the mfa_token
(MFA_TOKEN_MAX_FAILURES).
"""

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from typing import Any

import pyotp
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.conf import account_settings
from accounts.errors import ReauthenticationRequired
from accounts.passwords import password_prove
from core.errors import AccountDisabled
from core.events import AuthEvent, emit
from core.models import User
from core.throttling import FailureLimit
from mfa import selectors
from mfa.conf import MfaRequired as RequiredFor
from mfa.conf import mfa_settings
from mfa.errors import (
    MfaCodeInvalid,
    MfaEnrollmentRequired,
    MfaMethodUnavailable,
    MfaRequired,
    MfaTokenInvalid,
    NoSecondFactor,
    SecondStepRequired,
    TotpAlreadyEnabled,
    TotpNotEnabled,
    TotpNotPending,
)
from mfa.models import MfaChallenge, MfaChallengePurpose, RecoveryCode, TotpDevice
from mfa.selectors import METHOD_PASSWORD, METHOD_RECOVERY_CODE, METHOD_TOTP
from tokens import kek
from tokens.conf import RefreshTransport, token_settings
from tokens.errors import TokenRevoked
from tokens.models import SessionEndReason
from tokens.selectors import session_sign_in
from tokens.services import (
    ACR_MULTI_FACTOR,
    AMR_MULTI_FACTOR,
    Principal,
    TokenPair,
    session_end_all,
    session_reauthenticated,
    session_start,
)

# RFC 6238's defaults, which every authenticator app supports: 30-second steps, 6 digits, SHA-1.
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
# Codes of the step before and after the current one are accepted too (clock drift, typing time).
TOTP_SKEW_STEPS = 1
RECOVERY_CODE_COUNT = 10
# Crockford's base32 (no i, l, o, u): 16 characters are 80 random bits, shown as four groups of four.
_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RECOVERY_CODE_LENGTH = 16
# RFC 8176: a one-time password. A recovery code is one too: a single-use secret from a printed list.
AMR_OTP = "otp"
AMR_PASSWORD = "pwd"  # noqa: S105 (RFC 8176 value)

# Wrong second-factor codes per user, whatever the client or mfa_token (API_THROTTLE_MFA).
mfa_failures = FailureLimit("mfa")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- TOTP ----------------------------------------------------------------------------------------------


def _user_locked(user_id: int) -> User:
    """The active user, its row locked until the transaction ends: one factor change at a time."""
    user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    if user is None:
        raise TokenRevoked("The user of this token no longer exists or is disabled.")
    return user


def _totp_matching_step(secret: str, code: str) -> int | None:
    """The time step within the skew whose code `code` is, compared in constant time; None if none."""
    code = "".join(code.split())
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS)
    current = int(time.time()) // TOTP_STEP_SECONDS
    matched = None
    for step in range(current - TOTP_SKEW_STEPS, current + TOTP_SKEW_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    return matched


def _totp_step_accept(devices: "QuerySet[TotpDevice]", step: int, **changes: Any) -> bool:
    """Records `step` as the last used one if it is later than the last: of racing requests with the
    same code, one UPDATE matches the row. A code of a step already passed is refused (RFC 6238 §5.2)."""
    later = Q(last_used_step__isnull=True) | Q(last_used_step__lt=step)
    return bool(devices.filter(later).update(last_used_step=step, **changes))


def totp_begin(*, user_id: int) -> dict[str, str]:
    """A new secret for the user's authenticator app, pending until totp_confirm; replaces a pending one."""
    with transaction.atomic():
        user = _user_locked(user_id)
        if TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
            raise TotpAlreadyEnabled()
        secret = pyotp.random_base32()  # 160 bits, RFC 4226 §4's recommendation
        TotpDevice.objects.update_or_create(
            user=user,
            defaults={"secret": kek.private_key_seal(secret), "created_at": timezone.now(), "last_used_step": None},
        )
    uri = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS).provisioning_uri(
        name=user.email or str(user.pk), issuer_name=mfa_settings().totp_issuer
    )
    return {"secret": secret, "otpauth_uri": uri}


def totp_confirm(*, user_id: int, code: str) -> list[str]:
    """Confirms the pending TOTP with a first code; returns the new recovery codes, shown this once."""
    _failures_check(user_id)
    device = TotpDevice.objects.filter(user_id=user_id, confirmed_at__isnull=True).first()
    if device is None:
        raise TotpNotPending()
    step = _totp_matching_step(kek.private_key_open(device.secret), code)
    pending = TotpDevice.objects.filter(pk=device.pk, confirmed_at__isnull=True)
    with transaction.atomic():
        if step is None or not _totp_step_accept(pending, step, confirmed_at=timezone.now()):
            _code_refused(user_id=user_id, method=METHOD_TOTP)
        codes = _recovery_codes_replace(user_id=user_id)
    emit(AuthEvent.MFA_FACTOR_ADDED, outcome="success", user_id=user_id, method=METHOD_TOTP)
    return codes


def totp_remove(*, principal: Principal) -> None:
    """Removes the user's TOTP (pending or confirmed), after a recent aal2 sign-in; with it, the recovery codes."""
    user = _active_user(principal.user_id)
    require_recent_strong_sign_in(user=user, principal=principal)
    with transaction.atomic():
        _user_locked(user.pk)
        deleted, _ = TotpDevice.objects.filter(user=user).delete()
        if not deleted:
            raise TotpNotEnabled()
        # The codes back up the factors; with none left they would be a factor of their own.
        # (With the passkeys app, only when no WebAuthn credential remains either.)
        RecoveryCode.objects.filter(user=user).delete()
    emit(AuthEvent.MFA_FACTOR_REMOVED, outcome="success", user_id=user.pk, method=METHOD_TOTP)


def _totp_accept(*, user_id: int, code: str) -> bool:
    device = TotpDevice.objects.filter(user_id=user_id, confirmed_at__isnull=False).first()
    if device is None:
        return False
    step = _totp_matching_step(kek.private_key_open(device.secret), code)
    return step is not None and _totp_step_accept(TotpDevice.objects.filter(pk=device.pk), step)


# --- recovery codes ------------------------------------------------------------------------------------


def _recovery_code_canonical(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _recovery_code_new() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _RECOVERY_CODE_LENGTH, 4))


def _recovery_codes_replace(*, user_id: int) -> list[str]:
    """A new set of codes; the old set is deleted in the same transaction."""
    codes = [_recovery_code_new() for _ in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        RecoveryCode.objects.filter(user_id=user_id).delete()
        RecoveryCode.objects.bulk_create(
            [RecoveryCode(user_id=user_id, digest=_sha256(_recovery_code_canonical(code))) for code in codes]
        )
    return codes


def recovery_codes_regenerate(*, principal: Principal) -> list[str]:
    """A new set of recovery codes, the old set dead, after a recent aal2 sign-in."""
    user = _active_user(principal.user_id)
    require_recent_strong_sign_in(user=user, principal=principal)
    with transaction.atomic():
        _user_locked(user.pk)
        if not selectors.second_factor_methods(user_id=user.pk):
            raise NoSecondFactor("Recovery codes back up a second factor: set up TOTP first.")
        codes = _recovery_codes_replace(user_id=user.pk)
    emit(AuthEvent.MFA_RECOVERY_CODES_CREATED, outcome="success", user_id=user.pk, method=METHOD_RECOVERY_CODE)
    return codes


def _recovery_code_accept(*, user_id: int, code: str) -> bool:
    digest = _sha256(_recovery_code_canonical(code))
    return bool(
        RecoveryCode.objects.filter(user_id=user_id, digest=digest, used_at__isnull=True).update(used_at=timezone.now())
    )


# --- proving a second factor ---------------------------------------------------------------------------


def _failures_check(user_id: int) -> None:
    mfa_failures.check(f"user:{user_id}")


def _code_refused(*, user_id: int, method: str) -> None:
    mfa_failures.record(f"user:{user_id}")
    emit(AuthEvent.MFA_VERIFY, outcome=MfaCodeInvalid.code, user_id=user_id, method=method)
    raise MfaCodeInvalid()


def _second_factor_prove(*, user: User, method: str, code: str) -> None:
    """MfaCodeInvalid (counted against the user) unless `code` proves `method`, once."""
    _failures_check(user.pk)
    if method not in selectors.second_factor_methods(user_id=user.pk):
        raise MfaMethodUnavailable(f"This account has no {method} to prove.")
    accepted = (
        _totp_accept(user_id=user.pk, code=code)
        if method == METHOD_TOTP
        else _recovery_code_accept(user_id=user.pk, code=code)
    )
    if not accepted:
        _code_refused(user_id=user.pk, method=method)


def _with_second_factor(amr: Sequence[str]) -> list[str]:
    """The first factor's `amr` values, then `otp` and `mfa` (RFC 8176): a second factor proven."""
    first = [value for value in amr if value not in (AMR_OTP, AMR_MULTI_FACTOR)]
    return [*first, AMR_OTP, AMR_MULTI_FACTOR]


# --- the sign-in gate ----------------------------------------------------------------------------------


def _enrollment_required(user: User) -> bool:
    required = mfa_settings().required
    return required is RequiredFor.ALL or (required is RequiredFor.STAFF and user.is_staff)


def sign_in(
    *, user: User, amr: Sequence[str], user_agent: str = "", ip: str | None = None, bind_to_browser: bool = True
) -> TokenPair:
    """Every first-factor sign-in's last step: the session, or the second step it needs.

    A user with a second factor gets 403 `mfa_required`, with an mfa_token for POST
    /api/auth/mfa/verify and the `methods` it takes; one that AUTH_MFA_REQUIRED covers and that
    has none gets 403 `mfa_enrollment_required`, with an mfa_token for the enrolment endpoints.
    `amr`: the first factor's RFC 8176 values. `bind_to_browser`: false for native-app
    endpoints (social /token), which have no cookie jar; in cookie mode the others bind the
    mfa_token to the browser with a cookie, so that a leaked mfa_token is useless elsewhere.
    """
    methods = selectors.second_factor_methods(user_id=user.pk)
    error: type[SecondStepRequired]
    if methods:
        purpose, error = MfaChallengePurpose.VERIFY, MfaRequired
    elif _enrollment_required(user):
        purpose, error, methods = MfaChallengePurpose.ENROLL, MfaEnrollmentRequired, [METHOD_TOTP]
    else:
        return session_start(user=user, amr=amr, user_agent=user_agent, ip=ip)
    # Only with the refresh token in a cookie alone is every client of these endpoints a browser.
    bind = bind_to_browser and token_settings().refresh_transport is RefreshTransport.COOKIE
    mfa_token, binding = secrets.token_urlsafe(32), secrets.token_urlsafe(32) if bind else None
    now, conf = timezone.now(), mfa_settings()
    MfaChallenge.objects.filter(expires_at__lte=now).delete()
    MfaChallenge.objects.create(
        digest=_sha256(mfa_token),
        user=user,
        purpose=purpose,
        amr=list(amr),
        binding=_sha256(binding) if binding else "",
        expires_at=now + conf.token_ttl,
    )
    emit(AuthEvent.MFA_REQUIRED, outcome=str(purpose), user_id=user.pk)
    raise error(mfa_token=mfa_token, methods=methods, binding=binding, ttl=int(conf.token_ttl.total_seconds()))


def _challenge_load(*, mfa_token: str, purpose: MfaChallengePurpose, binding: str | None) -> MfaChallenge:
    """The live challenge of an mfa_token, presented by the browser it was bound to; MfaTokenInvalid otherwise."""
    challenge = (
        MfaChallenge.objects.select_related("user")
        .filter(
            digest=_sha256(mfa_token),
            purpose=purpose,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
            failures__lt=mfa_settings().token_max_failures,
        )
        .first()
    )
    if challenge is None:
        raise MfaTokenInvalid()
    if challenge.binding and not hmac.compare_digest(challenge.binding, _sha256(binding or "")):
        raise MfaTokenInvalid("This sign-in was begun in another browser, or its cookie was lost; sign in again.")
    if not challenge.user.is_active:
        raise AccountDisabled("An administrator has disabled this account.")
    return challenge


def _challenge_failed(challenge: MfaChallenge) -> None:
    MfaChallenge.objects.filter(pk=challenge.pk).update(failures=F("failures") + 1)


def _challenge_consume(challenge: MfaChallenge) -> None:
    """Spends the mfa_token: of racing requests, one UPDATE matches the row."""
    spent = MfaChallenge.objects.filter(
        pk=challenge.pk,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
        failures__lt=mfa_settings().token_max_failures,
    ).update(used_at=timezone.now())
    if not spent:
        raise MfaTokenInvalid()


def mfa_verify(
    *, mfa_token: str, method: str, code: str, binding: str | None, user_agent: str = "", ip: str | None = None
) -> TokenPair:
    """The second step of a sign-in: a code of the user's second factor for the mfa_token, then the session."""
    challenge = _challenge_load(mfa_token=mfa_token, purpose=MfaChallengePurpose.VERIFY, binding=binding)
    try:
        _second_factor_prove(user=challenge.user, method=method, code=code)
    except MfaCodeInvalid:
        _challenge_failed(challenge)
        raise
    _challenge_consume(challenge)
    emit(AuthEvent.MFA_VERIFY, outcome="success", user_id=challenge.user_id, method=method)
    amr = _with_second_factor(challenge.amr)
    return session_start(user=challenge.user, amr=amr, user_agent=user_agent, ip=ip)


def mfa_enrollment_begin(*, mfa_token: str, binding: str | None) -> dict[str, str]:
    """TOTP set-up for a sign-in that AUTH_MFA_REQUIRED holds back: what totp_begin answers."""
    challenge = _challenge_load(mfa_token=mfa_token, purpose=MfaChallengePurpose.ENROLL, binding=binding)
    return totp_begin(user_id=challenge.user_id)


def mfa_enrollment_confirm(
    *, mfa_token: str, code: str, binding: str | None, user_agent: str = "", ip: str | None = None
) -> tuple[list[str], TokenPair]:
    """Confirms the TOTP set up with the mfa_token, then starts the held-back session at aal2."""
    challenge = _challenge_load(mfa_token=mfa_token, purpose=MfaChallengePurpose.ENROLL, binding=binding)
    try:
        codes = totp_confirm(user_id=challenge.user_id, code=code)
    except MfaCodeInvalid:
        _challenge_failed(challenge)
        raise
    _challenge_consume(challenge)
    amr = _with_second_factor(challenge.amr)
    return codes, session_start(user=challenge.user, amr=amr, user_agent=user_agent, ip=ip)


# --- step-up -------------------------------------------------------------------------------------------


def _active_user(user_id: int) -> User:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise TokenRevoked("The user of this token no longer exists or is disabled.")
    return user


def reauthentication_methods(user: User, *, second_factors: Sequence[str]) -> list[str]:
    """What POST /api/auth/reauthenticate takes that would satisfy the step-up: a second factor if the
    user has one (a password alone stays aal1), else the password if there is one (else: sign in again)."""
    if second_factors:
        return list(second_factors)
    return [METHOD_PASSWORD] if user.has_usable_password() else []


def require_recent_strong_sign_in(*, user: User, principal: Principal, password: str | None = None) -> None:
    """The step-up of a sensitive action: 403 `reauthentication_required` (with `methods`) unless
    the session's sign-in (or its last reauthentication) is within ACCOUNTS_RECENT_SIGN_IN_MINUTES
    and, for a user with a second factor, at aal2.

    `password`, when the action takes one, is proven first
    (PasswordIncorrect); for a user without a second factor it is enough by itself.
    """
    if password is not None:
        password_prove(user, password)
    second_factors = selectors.second_factor_methods(user_id=user.pk)
    if password is not None and not second_factors:
        return
    # From the session row, not the token: a reauthentication counts for every token of the session.
    sign_in = session_sign_in(session_id=principal.session_id)
    window = account_settings().recent_sign_in
    recent = sign_in is not None and timezone.now() - sign_in[0] <= window
    strong = not second_factors or (sign_in is not None and sign_in[1] == ACR_MULTI_FACTOR)
    if recent and strong:
        return
    minutes = int(window.total_seconds() // 60)
    need = "with a second factor " if second_factors else ""
    raise ReauthenticationRequired(
        f"Reauthenticate {need}(POST /api/auth/reauthenticate): this needs a sign-in within {minutes} minutes.",
        methods=reauthentication_methods(user, second_factors=second_factors),
    )


def session_reauthenticate(
    *, principal: Principal, method: str, password: str | None = None, code: str | None = None
) -> TokenPair:
    """A fresh pair for the same session, whose `auth_time` is now and whose `amr`/`acr` say what was proven."""
    user = _active_user(principal.user_id)
    if method == METHOD_PASSWORD:
        if password is None:
            raise MfaMethodUnavailable("Send the account's `password`.")
        password_prove(user, password)
        amr = [AMR_PASSWORD]
    else:
        _second_factor_prove(user=user, method=method, code=code or "")
        amr = _with_second_factor(principal.claims.get("amr") or [])
    emit(AuthEvent.REAUTHENTICATE, outcome="success", user_id=user.pk, session_id=principal.session_id, method=method)
    return session_reauthenticated(session_id=principal.session_id, user_id=user.pk, amr=amr)


# --- operators -----------------------------------------------------------------------------------------


def mfa_reset(*, user_id: int) -> None:
    """An administrator's reset: the user's factors, recovery codes and pending second steps are
    deleted and every session ends (whoever added a factor may be the one holding them)."""
    with transaction.atomic():
        TotpDevice.objects.filter(user_id=user_id).delete()
        RecoveryCode.objects.filter(user_id=user_id).delete()
        MfaChallenge.objects.filter(user_id=user_id).delete()
    session_end_all(user_id=user_id, reason=SessionEndReason.MFA_RESET)
    emit(AuthEvent.MFA_RESET, outcome="success", user_id=user_id)
