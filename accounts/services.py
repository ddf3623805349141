"""What the accounts app does: sign-up, verification, password and emailed-code sign-in, reset
and change, changing the email, identities and deletion.
Sessions and tokens are the tokens app's; identities the social app's.

Every endpoint that takes an email answers alike for an address with an account and one
without, and does the same password-hashing work for both (one hash or one check), so
neither the answer nor the hasher tells whether an account exists.
"""

import functools
import secrets
import uuid

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import codes, devices, links
from accounts.conf import account_settings
from accounts.errors import (
    CodeInvalid,
    CredentialsInvalid,
    EmailInUse,
    EmailUnverified,
    IdentityNotFound,
    LastSignInMethod,
    LinkInvalid,
    PasswordIncorrect,
    PasswordInvalid,
    PasswordLoginDisabled,
    PasswordRequired,
)
from accounts.notices import notice_send, notices_update
from accounts.passwords import password_prove
from accounts.selectors import password_is_a_way_in, user_get
from accounts.signals import session_kept
from accounts.tasks import account_email_deliver, email_change_deliver, email_code_deliver
from accounts.throttling import email_code_failures, sign_in_failures
from core.emails import canonical_email, canonical_email_or_none
from core.errors import AccountDisabled
from core.events import AuthEvent, email_target, emit
from core.models import DISPLAY_NAME_MAX_LENGTH, User
from core.transactions import retry_on_conflict
from mfa import services as mfa_services
from mfa.errors import SecondStepRequired
from mfa.services import AMR_OTP, AMR_PASSWORD, require_recent_strong_sign_in
from social import services as social_services
from social.selectors import social_account_list
from social.services.accounts import unverified_account_claim
from tokens.errors import TokenRevoked
from tokens.models import Session, SessionEndReason
from tokens.services import Principal, TokenPair, access_token_authenticate, session_end_all
from webhooks.events import EventType, identity_data, user_data
from webhooks.services import event_publish


def _password_login_required() -> None:
    if not account_settings().password_login:
        raise PasswordLoginDisabled()


def _password_validate(password: str, *, user: User) -> None:
    """AUTH_PASSWORD_VALIDATORS, their messages in the problem's `errors`."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise PasswordInvalid(_("See `errors` for what the password lacks."), errors=list(exc.messages)) from None


@functools.cache
def _dummy_encoded(hasher_path: str) -> str:
    return make_password(secrets.token_urlsafe(16))


def _dummy_password_check(password: str) -> None:
    """The check a known user's password gets, against a hash nobody has: the same work, no answer."""
    hasher = get_hasher()
    check_password(password, _dummy_encoded(f"{type(hasher).__module__}.{type(hasher).__qualname__}"))


def _user_by_email(email: str) -> User | None:
    address = canonical_email_or_none(email)
    return User.objects.filter(email=address).first() if address else None


def account_register(*, email: str, password: str, display_name: str = "", language: str = "") -> None:
    """Signs an address up, or tells its owner someone tried; the caller cannot tell which.

    A new address gets an account with an unverified email and a verification link. An
    address that has an account, verified or not, gets no new password: its owner gets an
    email saying someone tried to sign up, with a link to set a password. So a sign-up
    never changes an existing account, and an attacker's password on an address waits,
    unusable, until whoever reads that inbox confirms it or replaces it. `language`, that of
    a new account's emails, leaves an existing one's alone too.
    """
    _password_login_required()
    address = canonical_email(email)
    draft = User(email=address, display_name=display_name[:DISPLAY_NAME_MAX_LENGTH], language=language)
    _password_validate(password, user=draft)
    draft.set_password(password)  # Hashed whatever follows: the same work for every address.
    existing = User.objects.filter(email=address).first()
    if existing is None:
        try:
            with transaction.atomic():
                draft.save()
                event_publish(EventType.USER_CREATED, user_id=draft.pk, data=user_data(draft))
        except IntegrityError:  # A concurrent sign-up of the same address won.
            existing = User.objects.get(email=address)
        else:
            account_email_deliver.enqueue(kind="verify_email", address=address)
            return
    account_email_deliver.enqueue(kind="sign_up_attempt", address=address)


def account_email_verify(
    *,
    uid: str,
    token: str,
    password: str | None = None,
    access: str | None = None,
    user_agent: str = "",
    ip: str | None = None,
) -> TokenPair:
    """Marks the address verified (the link is then used up) and signs the user in.

    The link proves that the person reads the inbox, not that they registered: anyone can sign
    up with someone else's address, and the owner, clicking, would otherwise verify (and sign
    in to) the stranger's account, whose password the stranger still knows. So the person also
    proves the account: its password, or an access token of it. Without either the link
    verifies nothing (PasswordRequired); the owner who did not register resets the password
    instead, which verifies the address and kills the stranger's password (docs/accounts.md).
    """
    _password_login_required()
    user = links.link_user(uid=uid, token=token, generator=links.email_verification_tokens)
    if password is not None:
        password_prove(user, password)
    elif access is None or access_token_authenticate(token=access).user_id != user.pk:
        raise PasswordRequired(_("Open the link in the browser you signed up in and give the password you chose."))
    user.email_verified = True
    user.last_login = timezone.now()
    user.save(update_fields=["email_verified", "last_login"])
    event_publish(EventType.USER_UPDATED, user_id=user.pk, data=user_data(user, changed=("email_verified",)))
    emit(AuthEvent.SIGN_IN, outcome="success", provider="email_link", user_id=user.pk)
    # The link proves the inbox, the password or the bearer token the account: the password is the
    # factor RFC 8176 names; a bearer's own sign-in is not carried over (docs/mfa.md).
    return mfa_services.sign_in(user=user, amr=[AMR_PASSWORD], user_agent=user_agent, ip=ip)


def user_update(*, user_id: int, display_name: str | None = None, language: str | None = None) -> User:
    """Changes the fields given (None: unchanged) and answers the user: two queries (and user.updated's,
    when a webhook wants it and the display name changed)."""
    user = user_get(user_id=user_id)
    changes = {"display_name": display_name, "language": language}
    fields = [name for name, value in changes.items() if value is not None and value != getattr(user, name)]
    for name in fields:
        setattr(user, name, changes[name])
    if fields:
        with transaction.atomic():
            user.save(update_fields=fields)
            if "display_name" in fields:
                event_publish(EventType.USER_UPDATED, user_id=user.pk, data=user_data(user, changed=("display_name",)))
    return user


def account_verification_resend(*, email: str) -> None:
    """A new verification link, if the address has an account waiting for one (the worker looks)."""
    _password_login_required()
    address = canonical_email_or_none(email)
    if address is not None:
        account_email_deliver.enqueue(kind="verify_email", address=address)


def account_password_sign_in(
    *, email: str, password: str, device_token: str | None = None, user_agent: str = "", ip: str | None = None
) -> devices.SignIn:
    """A token pair (and a device token) for the right email and password.

    An unknown address and a wrong password are one answer after one password check each;
    only a right password learns whether the account is disabled or unverified. Failures are
    counted per address, or per device for a client whose device token names this account
    (accounts.throttling); a spent budget is 429 before any password check.
    """
    _password_login_required()
    address = canonical_email_or_none(email) or email.strip().lower()
    target = email_target(address)
    user = _user_by_email(email)
    device = devices.device_token_read(device_token)
    # Before the password check, which may store the hash again with newer parameters.
    new_device = user is None or devices.device_is_new(device, user=user)
    counted_as = address if new_device or device is None else f"device:{device.device_id}"
    sign_in_failures.check(counted_as)
    if user is None or not user.has_usable_password():
        _dummy_password_check(password)
        sign_in_failures.record(counted_as)
        raise CredentialsInvalid(target=target)
    if not user.check_password(password):
        sign_in_failures.record(counted_as)
        raise CredentialsInvalid(target=target)
    if not user.is_active:
        raise AccountDisabled(_("An administrator has disabled this account."), target=target)
    if not user.email_verified:
        raise EmailUnverified(_("Open the link emailed at sign-up, or ask for a new one."), target=target)
    with transaction.atomic():
        # The password just checked stays the account's until its session (or second step) exists. Without
        # it, sign-ins racing a reset with the old password kept their sessions.
        if not User.objects.locked_with_password_of(user):
            raise CredentialsInvalid(target=target)
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        emit(AuthEvent.SIGN_IN, outcome="success", provider="password", user_id=user.pk)
        try:
            return mfa_services.sign_in_on_device(
                user, amr=[AMR_PASSWORD], new_device=new_device, user_agent=user_agent, ip=ip
            )
        except SecondStepRequired as held_back:
            second_step = held_back  # raised once its challenge is committed
    raise second_step


def password_reset_request(*, email: str) -> None:
    """A reset link to the address, if it has an active account (one without a password gets its first).

    The request only enqueues: whether the address has an account is the worker's to find out,
    after the answer, so the answer takes the same time either way.
    """
    _password_login_required()
    address = canonical_email_or_none(email)
    if address is not None:
        account_email_deliver.enqueue(kind="reset_password", address=address)


def password_reset_confirm(
    *, uid: str, token: str, new_password: str, user_agent: str = "", ip: str | None = None
) -> devices.SignIn:
    """Sets the password from a reset link, ends every session and signs in afresh.

    The link proves the person reads the address's inbox, so the address is verified too. The new password
    forgets every device (accounts.devices); this one gets a device token of it, and no new-device notice:
    the password_changed notice says what happened.
    """
    _password_login_required()
    with transaction.atomic():
        # Locked while the link is checked: it covers the password, so of several requests with one link
        # the first to commit spends it, and the others find it spent.
        user = links.link_user(uid=uid, token=token, generator=links.password_reset_tokens, lock=True)
        _password_validate(new_password, user=user)
        user.set_password(new_password)
        verified_now = not user.email_verified
        user.email_verified = True
        user.last_login = timezone.now()
        # Ends every session of the user (accounts.signals), before this one starts.
        user.save(update_fields=["password", "email_verified", "last_login"])
    if verified_now:
        event_publish(EventType.USER_UPDATED, user_id=user.pk, data=user_data(user, changed=("email_verified",)))
    emit(AuthEvent.SIGN_IN, outcome="success", provider="password_reset", user_id=user.pk)
    notice_send(user_id=user.pk, kind="password_changed")
    # The emailed link is the proof: a one-time secret sent out of band (RFC 8176 `otp`); a user
    # with a second factor must prove it still, or a stolen inbox would be a stolen account.
    return mfa_services.sign_in_on_device(user, amr=[AMR_OTP], new_device=False, user_agent=user_agent, ip=ip)


def password_change(
    *, principal: Principal, current_password: str | None, new_password: str, device_token: str | None = None
) -> str | None:
    """Sets a new password and ends every other session of the user.

    A user who has a password proves it; one who has none yet (signed up with a provider)
    must have signed in recently; one with a second factor must also have proven it recently
    (mfa.services.require_recent_strong_sign_in). The new password forgets every device (accounts.devices):
    the device token of the client that changed it, if it sent one of this user, is answered anew.
    """
    _password_login_required()
    user = user_get(user_id=principal.user_id)
    if user.has_usable_password() and current_password is None:
        raise PasswordIncorrect(_("Give the current password."))
    require_recent_strong_sign_in(user=user, principal=principal, password=current_password)
    _password_validate(new_password, user=user)
    known_device = not devices.device_is_new(devices.device_token_read(device_token), user=user)
    user.set_password(new_password)
    with session_kept(principal.session_id):  # accounts.signals ends the others
        user.save(update_fields=["password"])
    notice_send(user_id=user.pk, kind="password_changed")
    return devices.device_token_issue(user=user) if known_device else None


@retry_on_conflict
def identity_remove(*, principal: Principal, identity_id: int) -> None:
    """Unlinks one of the user's identities, unless it is their last way to sign in; needs a recent sign-in."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=principal.user_id, is_active=True).first()
        if user is None:
            raise TokenRevoked(_("The user of this token no longer exists or is disabled."))
        require_recent_strong_sign_in(user=user, principal=principal)
        identities = social_account_list(user_id=user.pk)
        providers = {identity.pk: identity.provider for identity in identities}
        if identity_id not in providers:
            raise IdentityNotFound()
        if len(identities) == 1 and not password_is_a_way_in(user):
            raise LastSignInMethod(_("Set a password or link another provider first."))
        social_services.social_account_delete(account_id=identity_id)
        event_publish(
            EventType.IDENTITY_UNLINKED,
            user_id=user.pk,
            data=identity_data(identity_id=identity_id, provider=providers[identity_id]),
        )
    notice_send(user_id=user.pk, kind="identity_unlinked", provider=providers[identity_id])


def account_delete(*, principal: Principal, password: str | None) -> None:
    """Deletes the user, their identities and sessions, after a recent sign-in or the password
    (and, for a user with a second factor, a recent one at aal2).

    Identities at providers that allow it are unlinked there first (Kakao, with
    SOCIAL_KAKAO_ADMIN_KEY); if that fails nothing is deleted, and the request can be
    repeated. Deleting the user ends their sessions (accounts.signals) and deletes the
    identities with it.
    """
    user = user_get(user_id=principal.user_id)
    require_recent_strong_sign_in(user=user, principal=principal, password=password)
    social_services.social_accounts_revoke(user_id=user.pk)
    if user.email:  # the notice's address is read now: the deletion takes the user's row and choices with it
        notice_send(user_id=user.pk, kind="account_deleted", address=user.email)
    user.delete()


def notices_change(*, principal: Principal, changes: dict[str, bool]) -> dict[str, bool]:
    """Turns security notices on or off. Turning one off needs a recent (and, with a factor, strong) sign-in:
    whoever holds a stolen session would first silence what tells the owner of their next steps."""
    if not all(changes.values()):
        require_recent_strong_sign_in(user=user_get(user_id=principal.user_id), principal=principal)
    return notices_update(user_id=principal.user_id, changes=changes)


# --- sign-in by emailed code ----------------------------------------------------------------


def email_code_request(*, email: str, language: str = "") -> None:
    """A code to the address, if it has an active account or may sign up (the worker looks and makes it).

    `language`, the request's, is the email's for an address without an account (an account's is its own).
    """
    address = canonical_email_or_none(email)
    if address is not None:
        email_code_deliver.enqueue(address=address, language=language)


def _email_code_user(address: str, *, language: str) -> tuple[User, bool]:
    """The user of an address the code just proved, made verified; and whether they were just created.

    An unverified account was set up by whoever typed the address, maybe not its owner, who now
    proved it: the pre-account-takeover rule of provider sign-ins (social.services.accounts)
    applies, so its password, sessions and display name go before the owner signs in.
    """
    user = User.objects.filter(email=address).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(email=address, email_verified=True, language=language)
                event_publish(EventType.USER_CREATED, user_id=user.pk, data=user_data(user))
                return user, True
        except IntegrityError:  # a concurrent sign-up of the address won
            user = User.objects.get(email=address)
    if not user.is_active:
        raise AccountDisabled(_("An administrator has disabled this account."), target=email_target(address))
    if not user.email_verified:
        unverified_account_claim(user)
    return user, False


def email_code_sign_in(
    *,
    email: str,
    code: str,
    device_token: str | None = None,
    language: str = "",
    user_agent: str = "",
    ip: str | None = None,
) -> devices.SignIn:
    """A token pair (and a device token) for the live code of the address.

    An unknown address, no code, a wrong, expired, used or worn-out one are one answer. Wrong
    codes are counted per address (email_code_failures) on top of each code's own tries.
    """
    canonical = canonical_email_or_none(email)
    address = canonical or email.strip().lower()
    email_code_failures.check(address)
    # No code was ever sent to an address that is not one (and PostgreSQL refuses a NUL in it: a 500 before).
    known = canonical is not None and User.objects.filter(email=canonical).exists()
    signs_up = canonical is not None and account_settings().email_code_signup
    if not (known or signs_up) or not codes.code_redeem(address, code):
        email_code_failures.record(address)
        raise CodeInvalid(target=email_target(address))
    user, created = _email_code_user(address, language=language)
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    emit(AuthEvent.SIGN_IN, outcome="success", provider="email_code", user_id=user.pk)
    # An account's first sign-in is no news to its owner.
    new_device = not created and devices.device_is_new(devices.device_token_read(device_token), user=user)
    # A one-time secret sent out of band (RFC 8176 `otp`): a user with a second factor must prove it still.
    return mfa_services.sign_in_on_device(user, amr=[AMR_OTP], new_device=new_device, user_agent=user_agent, ip=ip)


# --- changing the email ---------------------------------------------------------------------


def email_change_request(*, principal: Principal, new_email: str) -> None:
    """Emails a confirmation link to the new address and a cancel link to the current one (the worker).

    An address another account holds gets a note instead, after the same answer: the caller
    cannot tell. Needs a recent (and, with a second factor, strong) sign-in, as other sensitive actions.
    """
    user = user_get(user_id=principal.user_id)
    require_recent_strong_sign_in(user=user, principal=principal)
    address = canonical_email(new_email)
    if address != user.email:
        email_change_deliver.enqueue(user_id=user.pk, session_id=str(principal.session_id), new_address=address)


def _session_live(session_id: uuid.UUID) -> bool:
    return Session.objects.live().filter(id=session_id).exists()


def _email_set_verified(user: User, address: str) -> None:
    """`address` becomes the user's, verified, and the user.updated webhook says which fields changed."""
    changed = ("email",) if user.email_verified else ("email", "email_verified")
    user.email, user.email_verified = address, True
    user.save(update_fields=["email", "email_verified"])
    event_publish(EventType.USER_UPDATED, user_id=user.pk, data=user_data(user, changed=changed))


def _email_release(user: User) -> None:
    """The user's unverified address is no longer theirs (their pending verification link dies with it)."""
    user.email = None
    user.save(update_fields=["email"])
    event_publish(EventType.USER_UPDATED, user_id=user.pk, data=user_data(user, changed=("email",)))


def email_change_confirm(*, uid: str, token: str) -> None:
    """Makes the link's new address the user's, verified; notifies the old one.

    The link works once (it covers the current address), and only while the session that asked
    is live: signing out of it, or the old address's cancel link, kills it. Linked identities
    keep their own addresses.
    """
    change = links.email_change_read(uid=uid, token=token)
    if not _session_live(change.session_id):
        raise LinkInvalid()
    old_address = change.user.email
    if User.objects.filter(email=change.new_address).exclude(pk=change.user.pk).exists():
        raise EmailInUse()
    try:
        with transaction.atomic():
            # Locked, and the link checked again: of several requests with one link, the first to commit
            # changes the address and the others find another one; a cancel that committed first (it locks
            # the row too) has ended the session the link names.
            user = User.objects.select_for_update().get(pk=change.user.pk)
            if user.email != old_address or not _session_live(change.session_id):
                raise LinkInvalid()
            _email_set_verified(user, change.new_address)
    except IntegrityError:  # taken between the check and the write
        raise EmailInUse() from None
    if old_address:
        notice_send(
            user_id=user.pk,
            kind="email_changed",
            address=old_address,
            old_address=old_address,
            new_address=change.new_address,
        )


def email_change_cancel(*, uid: str, token: str) -> None:
    """ "This wasn't me", from the old address: the change is stopped or undone, and every session ends.

    Ending the sessions kills the pending confirmation link (it names its session). A change
    already made is undone, the old address verified again, unless another account has proven it since.
    """
    cancel = links.email_change_cancel_read(uid=uid, token=token)
    with transaction.atomic():
        # Locked, and the address read again: a confirmation that committed first is undone here.
        user = User.objects.select_for_update().get(pk=cancel.user.pk)
        if user.email != cancel.old_address:
            holder = User.objects.select_for_update().filter(email=cancel.old_address).first()
            if holder is not None and not holder.email_verified:
                # It signed up with the address but never proved its inbox, which this link just did: else
                # whoever changed the address could keep it by registering the old one before the cancel.
                _email_release(holder)
                holder = None
            if holder is None:
                _email_set_verified(user, cancel.old_address)
        session_end_all(user_id=user.pk, reason=SessionEndReason.LOGOUT_ALL)
