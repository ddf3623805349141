"""What the mfa app does: TOTP and recovery codes, the second step of every sign-in, and step-up.

WebAuthn credentials (the passkeys app) are a second factor too: mfa asks passkeys for the
assertion's options and checks, and passkeys' sign-in and factor changes come back here.

Three functions are the seams other apps use (docs/mfa.md):
- `sign_in`: every first-factor sign-in ends here. It starts the session, or, for a user with a
  second factor (or one that AUTH_MFA_REQUIRED makes enrol), answers 403 `mfa_required` /
  `mfa_enrollment_required` with a short-lived, single-use `mfa_token` and no tokens.
- `require_recent_strong_sign_in`: what a sensitive action checks first (403 `reauthentication_required`).
- `factor_removed`: after a factor is removed, the recovery codes go if no factor remains (and the last
  one stays where AUTH_MFA_REQUIRED asks for one).

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
import segno
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.conf import account_settings
from accounts.devices import SignIn, device_signed_in
from accounts.errors import ReauthenticationRequired
from accounts.notices import notice_send
from accounts.passwords import password_prove
from core.errors import AccountDisabled
from core.events import AuthEvent, emit
from core.models import User
from core.throttling import FailureLimit
from mfa import selectors
from mfa.conf import MfaRequired as RequiredFor
from mfa.conf import mfa_settings
from mfa.errors import (
    FactorRequired,
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
from mfa.selectors import METHOD_PASSWORD, METHOD_RECOVERY_CODE, METHOD_TOTP, METHOD_WEBAUTHN
from passkeys import services as passkey_services
from passkeys.errors import CounterRegression, CredentialUnknown, SignatureInvalid, WebAuthnProblem
from passkeys.models import WebAuthnCredential
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
# A WebAuthn assertion refused for what the client sent: a failed proof, counted as a wrong code is.
_ASSERTION_REFUSALS = (WebAuthnProblem, CredentialUnknown, SignatureInvalid, CounterRegression)
_PROOF_REFUSALS = (MfaCodeInvalid, *_ASSERTION_REFUSALS)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- TOTP ----------------------------------------------------------------------------------------------


def _user_locked(user_id: int) -> User:
    """The active user, its row locked until the transaction ends: one factor change at a time."""
    user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    if user is None:
        raise TokenRevoked(_("The user of this token no longer exists or is disabled."))
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


def totp_begin(*, user_id: int, principal: Principal | None) -> dict[str, str]:
    """A new secret for the user's authenticator app, pending until totp_confirm; replaces a pending one.

    `principal`: the session adding the factor, which, as for any factor added, needs a recent
    sign-in (at aal2 if a factor exists: whoever holds an aal1 session must not add their own).
    None for the enrolment of a held-back sign-in, whose mfa_token proved the first factor just now.
    """
    with transaction.atomic():
        user = _user_locked(user_id)
        if TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
            raise TotpAlreadyEnabled()
        if principal is not None:
            require_recent_strong_sign_in(user=user, principal=principal)
        secret = pyotp.random_base32()  # 160 bits, RFC 4226 §4's recommendation
        TotpDevice.objects.update_or_create(
            user=user,
            defaults={"secret": kek.private_key_seal(secret), "created_at": timezone.now(), "last_used_step": None},
        )
    uri = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS).provisioning_uri(
        name=user.email or str(user.pk), issuer_name=mfa_settings().totp_issuer
    )
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": _qr_data_uri(uri)}


def _qr_data_uri(uri: str) -> str:
    """The otpauth URI as a QR code, an SVG data URI drawn here: the page shows it as an <img> under its
    strict CSP (img-src data:), and the secret never goes to a third-party QR service."""
    # Error correction M (15 %): what authenticator apps read reliably from a screen.
    return str(segno.make_qr(uri, error="m").svg_data_uri(scale=4, border=4))


def totp_confirm(*, user_id: int, principal: Principal | None, code: str) -> list[str]:
    """Confirms the pending TOTP with a first code; returns the new recovery codes, shown this once.

    The factor is added now, so the step-up of totp_begin is asked again: a set-up begun by an aal1
    session while the user had no factor must not be confirmed once a key protects the account.
    """
    device = TotpDevice.objects.filter(user_id=user_id, confirmed_at__isnull=True).first()
    if device is None:
        raise TotpNotPending()
    if principal is not None:
        require_recent_strong_sign_in(user=_active_user(user_id), principal=principal)
    _failures_check(user_id)
    step = _totp_matching_step(kek.private_key_open(device.secret), code)
    pending = TotpDevice.objects.filter(pk=device.pk, confirmed_at__isnull=True)
    with transaction.atomic():
        if step is None or not _totp_step_accept(pending, step, confirmed_at=timezone.now()):
            _code_refused(user_id=user_id, method=METHOD_TOTP)
        codes = _recovery_codes_replace(user_id=user_id)
    emit(AuthEvent.MFA_FACTOR_ADDED, outcome="success", user_id=user_id, method=METHOD_TOTP)
    notice_send(user_id=user_id, kind="second_factor_added")
    return codes


def totp_remove(*, principal: Principal) -> None:
    """Removes the user's TOTP (pending or confirmed), after a recent aal2 sign-in; with it, the
    recovery codes unless a WebAuthn credential remains."""
    user = _active_user(principal.user_id)
    require_recent_strong_sign_in(user=user, principal=principal)
    with transaction.atomic():
        _user_locked(user.pk)
        confirmed = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()
        deleted, _ = TotpDevice.objects.filter(user=user).delete()
        if not deleted:
            raise TotpNotEnabled()
        factor_removed(user=user)
    emit(AuthEvent.MFA_FACTOR_REMOVED, outcome="success", user_id=user.pk, method=METHOD_TOTP)
    if confirmed:  # a pending set-up was never a factor
        notice_send(user_id=user.pk, kind="second_factor_removed")


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
            raise NoSecondFactor(_("Recovery codes back up a second factor: set up TOTP or a security key first."))
        codes = _recovery_codes_replace(user_id=user.pk)
    emit(AuthEvent.MFA_RECOVERY_CODES_CREATED, outcome="success", user_id=user.pk, method=METHOD_RECOVERY_CODE)
    return codes


def factor_removed(*, user: User) -> None:
    """In the removal's transaction, after a factor is removed. The codes back up the factors, and with
    none left they would be a factor of their own, so they go with the last one (a factor added later
    brings a new set). Where AUTH_MFA_REQUIRED asks this user for a factor, the last one stays
    (FactorRequired rolls the removal back): an enrolled account must not become a one-factor one."""
    if selectors.has_factor(user_id=user.pk):
        return
    if _enrollment_required(user):
        raise FactorRequired(_("Add another second factor before removing this one."))
    RecoveryCode.objects.filter(user_id=user.pk).delete()


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


def webauthn_options(*, user: User) -> tuple[str, dict[str, Any]]:
    """A challenge and request options for an assertion of one of the user's credentials (a second
    step, or a reauthentication); MfaMethodUnavailable for a user without one."""
    if METHOD_WEBAUTHN not in selectors.second_factor_methods(user_id=user.pk):
        raise MfaMethodUnavailable(_("This account has no WebAuthn credential."))
    return passkey_services.assertion_options(user=user)


def _webauthn_prove(*, user: User, challenge_id: str | None, credential: dict[str, Any] | None) -> tuple[str, ...]:
    if challenge_id is None or credential is None:
        raise MfaMethodUnavailable(_("Send the `challenge_id` of the WebAuthn options and the `credential`."))
    try:
        verified = passkey_services.assertion_verify(challenge_id=challenge_id, credential=credential, user=user)
    except _ASSERTION_REFUSALS as refusal:
        mfa_failures.record(f"user:{user.pk}")
        emit(AuthEvent.MFA_VERIFY, outcome=refusal.code, user_id=user.pk, method=METHOD_WEBAUTHN)
        raise
    return verified.amr


def _second_factor_prove(
    *,
    user: User,
    method: str,
    code: str | None = None,
    challenge_id: str | None = None,
    credential: dict[str, Any] | None = None,
) -> tuple[str, ...]:
    """The RFC 8176 values of what was proven, once: a code of `method`, or a WebAuthn assertion.
    A refusal (MfaCodeInvalid, or the assertion's) counts against the user."""
    _failures_check(user.pk)
    if method not in selectors.second_factor_methods(user_id=user.pk):
        raise MfaMethodUnavailable(_("This account has no %(method)s to prove.") % {"method": method})
    if method == METHOD_WEBAUTHN:
        return _webauthn_prove(user=user, challenge_id=challenge_id, credential=credential)
    accepted = (
        _totp_accept(user_id=user.pk, code=code or "")
        if method == METHOD_TOTP
        else _recovery_code_accept(user_id=user.pk, code=code or "")
    )
    if not accepted:
        _code_refused(user_id=user.pk, method=method)
    return (AMR_OTP,)


def _with_second_factor(amr: Sequence[str], proven: Sequence[str] = (AMR_OTP,)) -> list[str]:
    """The first factor's `amr` values, then the second factor's (`otp`, or `hwk`/`swk` and `user`)
    and `mfa` (RFC 8176)."""
    first = [value for value in amr if value not in (*proven, AMR_MULTI_FACTOR)]
    return [*first, *proven, AMR_MULTI_FACTOR]


# --- the sign-in gate ----------------------------------------------------------------------------------


def _enrollment_required(user: User) -> bool:
    required = mfa_settings().required
    return required is RequiredFor.ALL or (required is RequiredFor.STAFF and user.is_staff)


def sign_in(
    *,
    user: User,
    amr: Sequence[str],
    user_agent: str = "",
    ip: str | None = None,
    bind_to_browser: bool = True,
    new_device: bool | None = None,
) -> TokenPair:
    """Every first-factor sign-in's last step: the session, or the second step it needs.

    A user with a second factor gets 403 `mfa_required`, with an mfa_token for POST
    /api/auth/mfa/verify and the `methods` it takes; one that AUTH_MFA_REQUIRED covers and that
    has none gets 403 `mfa_enrollment_required`, with an mfa_token for the enrolment endpoints.
    `amr`: the first factor's RFC 8176 values; with `mfa` in them (a passkey that verified its
    user) the sign-in has proven two factors already and goes through. `bind_to_browser`: false for native-app
    endpoints (social /token), which have no cookie jar; in cookie mode the others bind the
    mfa_token to the browser with a cookie, so that a leaked mfa_token is useless elsewhere.
    `new_device`: for a first factor that hands out a device token (accounts.devices), whether the
    client's device is new to the user; a held-back sign-in keeps it, and its second step hands out
    the device token and sends the notice. None for one that hands out none.
    """
    if AMR_MULTI_FACTOR in amr:
        return session_start(user=user, amr=amr, user_agent=user_agent, ip=ip)
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
        new_device=new_device,
        expires_at=now + conf.token_ttl,
    )
    emit(AuthEvent.MFA_REQUIRED, outcome=str(purpose), user_id=user.pk)
    raise error(mfa_token=mfa_token, methods=methods, binding=binding, ttl=int(conf.token_ttl.total_seconds()))


def sign_in_on_device(
    user: User,
    *,
    amr: Sequence[str],
    new_device: bool,
    user_agent: str = "",
    ip: str | None = None,
    bind_to_browser: bool = True,
) -> SignIn:
    """`sign_in`, then a device token and, for a new device, the notice (accounts.devices). A sign-in held
    back for its second step gets them at POST /api/auth/mfa/verify, which the gate tells `new_device`."""
    tokens = sign_in(
        user=user, amr=amr, new_device=new_device, user_agent=user_agent, ip=ip, bind_to_browser=bind_to_browser
    )
    return SignIn(tokens=tokens, device_token=device_signed_in(user=user, new=new_device, ip=ip))


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
        raise MfaTokenInvalid(_("This sign-in was begun in another browser, or its cookie was lost; sign in again."))
    if not challenge.user.is_active:
        raise AccountDisabled(_("An administrator has disabled this account."))
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


def _held_back_sign_in_complete(challenge: MfaChallenge, *, amr: list[str], user_agent: str, ip: str | None) -> SignIn:
    """The session of a sign-in whose second step is done; the device token (and the new-device notice)
    its first factor would have handed out had it not been held back.

    Started under the user's row lock while the password hash is the one the mfa_token was loaded with
    (UserQuerySet.locked_with_password_of): a password change (a reset) spends pending mfa_tokens
    (accounts.signals), but not one already claimed by its second step. Without it, second steps of sign-ins
    begun with the old password outlived the owner's reset.
    """
    with transaction.atomic():
        if not User.objects.locked_with_password_of(challenge.user):
            raise MfaTokenInvalid()
        tokens = session_start(user=challenge.user, amr=amr, user_agent=user_agent, ip=ip)
        if challenge.new_device is None:
            return SignIn(tokens=tokens, device_token=None)
        device_token = device_signed_in(user=challenge.user, new=challenge.new_device, ip=ip)
    return SignIn(tokens=tokens, device_token=device_token)


def mfa_webauthn_options(*, mfa_token: str, binding: str | None) -> tuple[str, dict[str, Any]]:
    """After `mfa_required`: the options of an assertion of one of the mfa_token's user's credentials."""
    challenge = _challenge_load(mfa_token=mfa_token, purpose=MfaChallengePurpose.VERIFY, binding=binding)
    return webauthn_options(user=challenge.user)


def mfa_verify(
    *,
    mfa_token: str,
    method: str,
    binding: str | None,
    code: str | None = None,
    challenge_id: str | None = None,
    credential: dict[str, Any] | None = None,
    user_agent: str = "",
    ip: str | None = None,
) -> SignIn:
    """The second step of a sign-in: a code of the user's second factor, or a WebAuthn assertion, for
    the mfa_token; then the session (and the device token, unless the first factor was an emailed link)."""
    challenge = _challenge_load(mfa_token=mfa_token, purpose=MfaChallengePurpose.VERIFY, binding=binding)
    # The mfa_token first, then the proof, in one transaction: racing verifies of one mfa_token wait on
    # its row's lock, and only the one that claims it spends its code. A refused proof gives the token
    # back, its failure counted, and commits: what the proof spent (a WebAuthn challenge) stays spent.
    refusal = None
    with transaction.atomic():
        # The user's row first, as a password change takes it before it spends pending mfa_tokens: in the
        # same order, the two wait on each other instead of deadlocking (an outside attacker's race did).
        User.objects.select_for_update().filter(pk=challenge.user_id).exists()
        _challenge_consume(challenge)
        try:
            proven = _second_factor_prove(
                user=challenge.user, method=method, code=code, challenge_id=challenge_id, credential=credential
            )
        except _PROOF_REFUSALS as refused:
            MfaChallenge.objects.filter(pk=challenge.pk).update(used_at=None, failures=F("failures") + 1)
            refusal = refused
    if refusal is not None:
        raise refusal
    emit(AuthEvent.MFA_VERIFY, outcome="success", user_id=challenge.user_id, method=method)
    amr = _with_second_factor(challenge.amr, proven)
    return _held_back_sign_in_complete(challenge, amr=amr, user_agent=user_agent, ip=ip)


def mfa_enrollment_begin(*, mfa_token: str, binding: str | None) -> dict[str, str]:
    """TOTP set-up for a sign-in that AUTH_MFA_REQUIRED holds back: what totp_begin answers."""
    challenge = _challenge_load(mfa_token=mfa_token, purpose=MfaChallengePurpose.ENROLL, binding=binding)
    return totp_begin(user_id=challenge.user_id, principal=None)


def mfa_enrollment_confirm(
    *, mfa_token: str, code: str, binding: str | None, user_agent: str = "", ip: str | None = None
) -> tuple[list[str], SignIn]:
    """Confirms the TOTP set up with the mfa_token, then starts the held-back session at aal2."""
    challenge = _challenge_load(mfa_token=mfa_token, purpose=MfaChallengePurpose.ENROLL, binding=binding)
    try:
        codes = totp_confirm(user_id=challenge.user_id, principal=None, code=code)
    except MfaCodeInvalid:
        _challenge_failed(challenge)
        raise
    _challenge_consume(challenge)
    amr = _with_second_factor(challenge.amr)
    return codes, _held_back_sign_in_complete(challenge, amr=amr, user_agent=user_agent, ip=ip)


# --- step-up -------------------------------------------------------------------------------------------


def _active_user(user_id: int) -> User:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise TokenRevoked(_("The user of this token no longer exists or is disabled."))
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
    detail = (
        _(
            "Reauthenticate with a second factor (POST /api/auth/reauthenticate): this needs a sign-in"
            " within %(minutes)d minutes."
        )
        if second_factors
        else _("Reauthenticate (POST /api/auth/reauthenticate): this needs a sign-in within %(minutes)d minutes.")
    )
    raise ReauthenticationRequired(
        detail % {"minutes": minutes}, methods=reauthentication_methods(user, second_factors=second_factors)
    )


def reauthentication_webauthn_options(*, principal: Principal) -> tuple[str, dict[str, Any]]:
    """The options of an assertion for POST /api/auth/reauthenticate with the webauthn method."""
    return webauthn_options(user=_active_user(principal.user_id))


def session_reauthenticate(
    *,
    principal: Principal,
    method: str,
    password: str | None = None,
    code: str | None = None,
    challenge_id: str | None = None,
    credential: dict[str, Any] | None = None,
) -> TokenPair:
    """A fresh pair for the same session, whose `auth_time` is now and whose `amr`/`acr` say what was proven."""
    user = _active_user(principal.user_id)
    if method == METHOD_PASSWORD:
        if password is None:
            raise MfaMethodUnavailable(_("Send the account's `password`."))
        password_prove(user, password)
        amr = [AMR_PASSWORD]
    else:
        proven = _second_factor_prove(
            user=user, method=method, code=code, challenge_id=challenge_id, credential=credential
        )
        amr = _with_second_factor(principal.claims.get("amr") or [], proven)
    emit(AuthEvent.REAUTHENTICATE, outcome="success", user_id=user.pk, session_id=principal.session_id, method=method)
    return session_reauthenticated(session_id=principal.session_id, user_id=user.pk, amr=amr)


# --- operators -----------------------------------------------------------------------------------------


def mfa_reset(*, user_id: int) -> None:
    """An administrator's reset: the user's factors (TOTP and WebAuthn credentials, passkeys too),
    recovery codes and pending second steps are deleted and every session ends (whoever added a
    factor may be the one holding them)."""
    with transaction.atomic():
        had_factor = selectors.has_factor(user_id=user_id)
        TotpDevice.objects.filter(user_id=user_id).delete()
        WebAuthnCredential.objects.filter(user_id=user_id).delete()
        RecoveryCode.objects.filter(user_id=user_id).delete()
        MfaChallenge.objects.filter(user_id=user_id).delete()
    session_end_all(user_id=user_id, reason=SessionEndReason.MFA_RESET)
    emit(AuthEvent.MFA_RESET, outcome="success", user_id=user_id)
    if had_factor:
        notice_send(user_id=user_id, kind="second_factor_removed")
