"""WebAuthn ceremonies (py_webauthn does the W3C checks): registering a credential, asserting one
as a second factor (mfa) or as the whole sign-in (a passkey), and removing one.

A challenge is a database row: the request that answers it deletes it, and only the one whose
DELETE removed the row goes on, whichever worker it runs on and whatever the database (SQLite,
PostgreSQL, MySQL/MariaDB: a DELETE's row count is atomic on all of them). The cache would need an
atomic get-and-delete, which Django's cache API does not have.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import options_to_json_dict, parse_authentication_credential_json
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse, WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.devices import SignIn, device_is_new, device_token_read
from accounts.notices import notice_send
from core.errors import AccountDisabled, Problem
from core.events import AuthEvent, emit
from core.models import User

# mfa imports this module (a WebAuthn assertion is a second factor); by the module, not its names,
# so that either may be imported first.
from mfa import services as mfa_services
from passkeys.conf import passkey_settings
from passkeys.errors import (
    ChallengeInvalid,
    CounterRegression,
    CredentialExists,
    CredentialMalformed,
    CredentialUnknown,
    OriginMismatch,
    RpIdMismatch,
    SignatureInvalid,
    UserVerificationRequired,
    WebAuthnCredentialNotFound,
    WebAuthnDisabled,
    WebAuthnProblem,
)
from passkeys.models import ChallengePurpose, WebAuthnChallenge, WebAuthnCredential
from tokens.services import AMR_MULTI_FACTOR, Principal

_KNOWN_TRANSPORTS = {transport.value for transport in AuthenticatorTransport}
# py_webauthn's messages, by the start of each, to the refusal a client can act on. Anything else it
# refuses is the generic `webauthn_invalid`.
_REFUSALS: tuple[tuple[str, type[Problem]], ...] = (
    ("Unexpected client data origin", OriginMismatch),
    ("Unexpected RP ID hash", RpIdMismatch),
    ("User verification is required", UserVerificationRequired),
    ("Client data challenge was not expected challenge", ChallengeInvalid),
    ("Could not verify authentication signature", SignatureInvalid),
    ("clientDataJSON was malformed", CredentialMalformed),
    ("authenticatorData was malformed", CredentialMalformed),
)
# WebAuthn §5.4.3: at most 64 bytes, and no personal data in it.
_USER_HANDLE_BYTES = 32


@dataclass(frozen=True)
class VerifiedAssertion:
    user: User
    # The WebAuthnCredential's id (the `id` of the credential list and of DELETE), not the authenticator's.
    credential_id: int
    user_verified: bool
    passkey: bool
    # RFC 8176: "swk" for a synced (backup-eligible) key, "hwk" for one bound to its device; "user" if verified.
    amr: tuple[str, ...]


def _enabled() -> None:
    if not passkey_settings().enabled:
        raise WebAuthnDisabled()


def _credential_id_sha256(credential_id: bytes) -> str:
    return hashlib.sha256(credential_id).hexdigest()


def _challenge_create(
    *, purpose: ChallengePurpose, user: User | None, user_handle: bytes | None = None, passkey: bool = False
) -> WebAuthnChallenge:
    now = timezone.now()
    # Expired challenges go here, by the expires_at index: whoever asks for options pays for the table staying small.
    WebAuthnChallenge.objects.filter(expires_at__lte=now).delete()
    return WebAuthnChallenge.objects.create(
        purpose=purpose,
        user=user,
        challenge=secrets.token_bytes(32),
        user_handle=user_handle,
        passkey=passkey,
        expires_at=now + passkey_settings().challenge_ttl,
    )


def _challenge_consume(*, challenge_id: str, purpose: ChallengePurpose, user: User | None) -> WebAuthnChallenge:
    """The challenge, deleted: once, by one request, if it is this user's and this purpose's and alive."""
    try:
        pk = UUID(challenge_id)
    except (ValueError, TypeError, AttributeError):
        raise ChallengeInvalid() from None
    row = WebAuthnChallenge.objects.filter(pk=pk).first()
    if row is None:
        raise ChallengeInvalid()
    deleted, _ = WebAuthnChallenge.objects.filter(pk=pk).delete()
    # Deleted even when it does not match: a challenge seen with the wrong user or purpose is spent.
    user_id = user.pk if user is not None else None
    if not deleted or row.purpose != purpose or row.user_id != user_id or row.expires_at <= timezone.now():
        raise ChallengeInvalid()
    return row


def _refusal(exc: WebAuthnException) -> Problem:
    message = str(exc)
    for prefix, problem in _REFUSALS:
        if message.startswith(prefix):
            return problem()
    if isinstance(exc, InvalidRegistrationResponse | InvalidAuthenticationResponse):
        return WebAuthnProblem(message)
    return CredentialMalformed()


def _transports(credential: dict[str, Any]) -> list[str]:
    response = credential.get("response")
    reported = response.get("transports") if isinstance(response, dict) else None
    if not isinstance(reported, list):
        return []
    return [transport for transport in reported if isinstance(transport, str) and transport in _KNOWN_TRANSPORTS]


def _descriptors(credentials: list[WebAuthnCredential]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=bytes(credential.credential_id),
            transports=[AuthenticatorTransport(transport) for transport in credential.transports],
        )
        for credential in credentials
    ]


def _timeout_ms() -> int:
    return int(passkey_settings().challenge_ttl.total_seconds() * 1000)


# --- registration ----------------------------------------------------------------------------------


def registration_options(*, user: User, principal: Principal, passkey: bool) -> tuple[str, dict[str, Any]]:
    """A challenge and PublicKeyCredentialCreationOptions for navigator.credentials.create().

    A passkey must be discoverable and verify the user (it will sign in alone); a second factor only
    needs to be present. The user's credentials are excluded, so one authenticator registers once.
    A factor added needs a recent sign-in, at aal2 for a user with a factor (as allauth's
    reauthentication): an aal1 session must not add a factor of its own holder's choosing.
    """
    _enabled()
    mfa_services.require_recent_strong_sign_in(user=user, principal=principal)
    conf = passkey_settings()
    existing = list(WebAuthnCredential.objects.filter(user=user).order_by("created_at"))
    user_handle = bytes(existing[0].user_handle) if existing else secrets.token_bytes(_USER_HANDLE_BYTES)
    challenge = _challenge_create(
        purpose=ChallengePurpose.REGISTER, user=user, user_handle=user_handle, passkey=passkey
    )
    if passkey:
        selection = AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED
        )
    else:
        selection = AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED, user_verification=UserVerificationRequirement.PREFERRED
        )
    options = generate_registration_options(
        rp_id=conf.rp_id,
        rp_name=conf.rp_name,
        user_name=user.email or f"user-{user.pk}",
        user_id=user_handle,
        user_display_name=user.display_name or user.email or "",
        challenge=bytes(challenge.challenge),
        timeout=_timeout_ms(),
        authenticator_selection=selection,
        exclude_credentials=_descriptors(existing),
    )
    return str(challenge.pk), options_to_json_dict(options)


def registration_verify(
    *, user: User, principal: Principal, challenge_id: str, credential: dict[str, Any], name: str
) -> WebAuthnCredential:
    """Stores the credential the authenticator made for the options of `challenge_id` (attestation "none" is enough).

    The factor is added now, so registration_options' step-up is asked again (a factor may have come meanwhile)."""
    _enabled()
    mfa_services.require_recent_strong_sign_in(user=user, principal=principal)
    conf = passkey_settings()
    challenge = _challenge_consume(challenge_id=challenge_id, purpose=ChallengePurpose.REGISTER, user=user)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=bytes(challenge.challenge),
            expected_rp_id=conf.rp_id,
            expected_origin=list(conf.origins),
            require_user_verification=challenge.passkey,
        )
    except WebAuthnException as exc:
        raise _refusal(exc) from None
    except (ValueError, TypeError, KeyError, AttributeError):
        # py_webauthn reads some fields without checking their types first.
        raise CredentialMalformed() from None
    try:
        with transaction.atomic():
            stored = WebAuthnCredential.objects.create(
                user=user,
                credential_id=verified.credential_id,
                credential_id_sha256=_credential_id_sha256(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=_transports(credential),
                user_handle=bytes(challenge.user_handle or b""),
                name=name,
                passkey=challenge.passkey and verified.user_verified,
                backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
                aaguid=verified.aaguid,
            )
    except IntegrityError:
        raise CredentialExists() from None
    emit(AuthEvent.WEBAUTHN_REGISTERED, outcome="success", user_id=user.pk)
    notice_send(user_id=user.pk, kind="passkey_added" if stored.passkey else "second_factor_added")
    return stored


def credential_delete(*, user: User, principal: Principal, credential_id: int) -> None:
    """Removes one of the user's credentials (404 for another user's), after a recent aal2 sign-in;
    with the last factor, the recovery codes go too."""
    mfa_services.require_recent_strong_sign_in(user=user, principal=principal)
    with transaction.atomic():
        stored = WebAuthnCredential.objects.filter(pk=credential_id, user=user).first()
        if stored is None:
            raise WebAuthnCredentialNotFound()
        stored.delete()
        mfa_services.factor_removed(user=user)
    emit(AuthEvent.WEBAUTHN_DELETED, outcome="success", user_id=user.pk)
    notice_send(user_id=user.pk, kind="passkey_removed" if stored.passkey else "second_factor_removed")


# --- assertion: the seam for mfa (a second factor, reauthentication) and passkey sign-in --------------


def assertion_options(*, user: User | None) -> tuple[str, dict[str, Any]]:
    """A challenge and PublicKeyCredentialRequestOptions for navigator.credentials.get().

    With a user (a second factor): their credentials in allowCredentials, user verification
    preferred. Without (passkey sign-in): any discoverable credential, which must verify the user;
    the same options serve conditional mediation (autofill).
    """
    _enabled()
    challenge = _challenge_create(purpose=ChallengePurpose.ASSERT, user=user)
    allowed = list(WebAuthnCredential.objects.filter(user=user).order_by("created_at")) if user is not None else []
    options = generate_authentication_options(
        rp_id=passkey_settings().rp_id,
        challenge=bytes(challenge.challenge),
        timeout=_timeout_ms(),
        allow_credentials=_descriptors(allowed),
        user_verification=(
            UserVerificationRequirement.REQUIRED if user is None else UserVerificationRequirement.PREFERRED
        ),
    )
    return str(challenge.pk), options_to_json_dict(options)


def assertion_verify(*, challenge_id: str, credential: dict[str, Any], user: User | None) -> VerifiedAssertion:
    """The credential's user, once the assertion answers the challenge of `assertion_options(user=user)`.

    With a user, the credential must be theirs; without, it must be a passkey and have verified the user. Every
    outcome is a `webauthn_assertion` auth event; the counter moves forward or the assertion is
    refused (a cloned authenticator).
    """
    _enabled()
    try:
        return _assertion_verify(challenge_id=challenge_id, credential=credential, user=user)
    except Problem as problem:
        emit(
            AuthEvent.WEBAUTHN_ASSERTION,
            outcome=problem.code,
            user_id=problem.user_id if isinstance(problem, CounterRegression) else (user.pk if user else None),
        )
        raise


def _parse_assertion(credential: dict[str, Any]) -> AuthenticationCredential:
    try:
        return parse_authentication_credential_json(credential)
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError):
        raise CredentialMalformed() from None


def _assertion_verify(*, challenge_id: str, credential: dict[str, Any], user: User | None) -> VerifiedAssertion:
    conf = passkey_settings()
    challenge = _challenge_consume(challenge_id=challenge_id, purpose=ChallengePurpose.ASSERT, user=user)
    parsed = _parse_assertion(credential)
    stored_credentials = WebAuthnCredential.objects.select_related("user").filter(
        credential_id_sha256=_credential_id_sha256(parsed.raw_id)
    )
    if user is not None:
        stored_credentials = stored_credentials.filter(user=user)
    else:
        # A sign-in by the credential alone takes a passkey only: a security key was registered without
        # user verification (and not discoverable), so a flag its assertion sets now proves no second factor.
        stored_credentials = stored_credentials.filter(passkey=True)
    stored = stored_credentials.first()
    if stored is None:
        raise CredentialUnknown()
    # A discoverable credential names its user too; it must be the one it was registered for.
    user_handle = parsed.response.user_handle
    if user_handle is not None and not hmac.compare_digest(bytes(user_handle), bytes(stored.user_handle)):
        raise CredentialUnknown()
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=bytes(challenge.challenge),
            expected_rp_id=conf.rp_id,
            expected_origin=list(conf.origins),
            credential_public_key=bytes(stored.public_key),
            # 0: py_webauthn would compare the counter before the signature; it is compared below,
            # after, so that only a genuinely signed regression is reported as one.
            credential_current_sign_count=0,
            require_user_verification=user is None,
        )
    except WebAuthnException as exc:
        raise _refusal(exc) from None
    except (ValueError, TypeError, KeyError, AttributeError):
        raise CredentialMalformed() from None
    _sign_count_advance(stored, new_sign_count=verified.new_sign_count)
    emit(AuthEvent.WEBAUTHN_ASSERTION, outcome="success", user_id=stored.user_id)
    amr = ("swk" if stored.backup_eligible else "hwk", *(("user",) if verified.user_verified else ()))
    return VerifiedAssertion(
        user=stored.user,
        credential_id=stored.pk,
        user_verified=verified.user_verified,
        passkey=stored.passkey,
        amr=amr,
    )


def _sign_count_advance(stored: WebAuthnCredential, *, new_sign_count: int) -> None:
    """Stores the new counter in one conditional UPDATE, so that of two assertions with one counter
    value (a cloned authenticator, or a race) only one passes. WebAuthn §7.2 step 22: an authenticator
    that keeps no counter (0 every time, as synced passkeys do) passes while the stored one is 0 too."""
    moves_forward = Q(sign_count=0) if new_sign_count == 0 else Q(sign_count__lt=new_sign_count)
    updated = WebAuthnCredential.objects.filter(moves_forward, pk=stored.pk).update(
        sign_count=new_sign_count, last_used_at=timezone.now()
    )
    if not updated:
        raise CounterRegression(user_id=stored.user_id)


# --- passkey sign-in -------------------------------------------------------------------------------------


def passkey_sign_in(
    *,
    challenge_id: str,
    credential: dict[str, Any],
    device_token: str | None = None,
    user_agent: str = "",
    ip: str | None = None,
) -> SignIn:
    """A token pair for a discoverable credential that verified its user: possession and a PIN or
    biometrics, two factors in one gesture (`mfa`, aal2: the sign-in gate asks for no second step);
    and a device token for the client (accounts.devices)."""
    verified = assertion_verify(challenge_id=challenge_id, credential=credential, user=None)
    user = verified.user
    if not user.is_active:
        raise AccountDisabled(_("An administrator has disabled this account."))
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    emit(AuthEvent.SIGN_IN, outcome="success", provider="passkey", user_id=user.pk)
    amr = [*verified.amr, AMR_MULTI_FACTOR] if verified.user_verified else list(verified.amr)
    new_device = device_is_new(device_token_read(device_token), user=user)
    return mfa_services.sign_in_on_device(user, amr=amr, new_device=new_device, user_agent=user_agent, ip=ip)
