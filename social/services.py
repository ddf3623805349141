"""What the social app does: begin a login, complete it, upsert the account behind it.

A login is begun by /authorize, which keeps `{provider, redirect_uri, code_verifier, nonce,
binding_hash, expires_at}` in the cache under a fresh state; /callback consumes that state exactly once,
checks that it comes from the browser that began the login, exchanges the code on the
backend, and upserts the user from what the provider itself returned.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.emails import canonical_email_or_none
from core.errors import AccountDisabled
from core.events import AuthEvent, emit
from core.models import AVATAR_URL_MAX_LENGTH, DISPLAY_NAME_MAX_LENGTH, User
from social.conf import KAKAO, KakaoConfig, social_settings
from social.errors import (
    EmailRequired,
    IdentityInUse,
    KakaoAppMismatch,
    LoginConflict,
    ProviderUnknown,
    RedirectUriNotAllowed,
    StateInvalid,
)
from social.models import SocialAccount
from social.outbound import bounded_by_provider_limits
from social.providers import Identity, KakaoProvider, apple_user_name, provider_get
from tokens.errors import NotAuthenticated
from tokens.models import SessionEndReason
from tokens.services import Principal, TokenPair, session_end_all, session_start


@dataclass(frozen=True)
class LoginStart:
    authorization_url: str
    state: str
    # The secret the browser keeps in a cookie and brings back to /callback; None with the binding off.
    browser_binding: str | None


@dataclass(frozen=True)
class SocialLogin:
    tokens: TokenPair
    user: User
    # Whether this login created the user (not merely linked a new identity to one).
    created: bool


def _pending_login_key(state: str) -> str:
    return f"social:pending:{state}"


def _binding_hash(browser_binding: str) -> str:
    return hashlib.sha256(browser_binding.encode()).hexdigest()


@bounded_by_provider_limits
def social_login_begin(
    *, provider: str, redirect_uri: str, intent: str = "sign_in", principal: Principal | None = None
) -> LoginStart:
    """The provider's authorization URL, the state under which the login waits for its callback,
    and the browser binding (RFC 9700 §4.7.1) whose hash the pending login keeps.

    A `link` intent remembers the principal's user: the callback attaches the identity to
    them rather than signing in whoever owns it.
    """
    conf = social_settings()
    selected = provider_get(provider)
    if redirect_uri not in conf.redirect_uris:
        raise RedirectUriNotAllowed(f"{redirect_uri!r} is not listed in SOCIAL_REDIRECT_URIS.")
    link_user_id = None
    if intent == "link":
        if not isinstance(principal, Principal):
            raise NotAuthenticated("Linking an identity needs the access token of the user to link it to.")
        link_user_id = principal.user_id
    state = secrets.token_urlsafe(32)
    code_verifier = secrets.token_urlsafe(64)
    nonce = secrets.token_urlsafe(32) if selected.uses_nonce else None
    browser_binding = secrets.token_urlsafe(32) if conf.bind_to_browser else None
    authorization_url = selected.authorization_url(
        redirect_uri=redirect_uri, state=state, code_verifier=code_verifier, nonce=nonce
    )
    pending = {
        "provider": selected.name,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
        "nonce": nonce,
        "binding_hash": _binding_hash(browser_binding) if browser_binding else None,
        "link_user_id": link_user_id,
        # Checked as well as the cache's own expiry, which a shared cache may apply late.
        "expires_at": time.time() + conf.pending_login_ttl,
    }
    cache.set(_pending_login_key(state), pending, timeout=conf.pending_login_ttl)
    return LoginStart(authorization_url=authorization_url, state=state, browser_binding=browser_binding)


def social_form_post_forward(
    *, provider: str, state: str, code: str | None, error: str | None, user: str | None
) -> str:
    """Where to send the browser after a provider posted the code to the backend (Apple's form_post).

    The frontend's callback gets `code` and `state` (or `error` and `state`) in its query, as
    from every other provider. The name Apple posts at the first authorization only is kept
    with the pending login for /callback. The state is checked but not spent: /callback spends it.
    """
    selected = provider_get(provider)
    if not selected.uses_form_post:
        raise ProviderUnknown(f"{selected.config.display_name} does not post codes to the backend.")
    key = _pending_login_key(state)
    pending = cache.get(key)
    if pending is None or pending["provider"] != selected.name or pending["expires_at"] <= time.time():
        raise StateInvalid("The state is unknown, expired or for another provider; begin the login again.")
    name = apple_user_name(user)
    if name:
        pending["display_name"] = name
        cache.set(key, pending, timeout=max(int(pending["expires_at"] - time.time()), 1))
    query = {"code": code, "state": state} if code else {"error": error or "server_error", "state": state}
    separator = "&" if "?" in pending["redirect_uri"] else "?"
    return f"{pending['redirect_uri']}{separator}{urlencode(query)}"


def _pending_login_consume(*, provider: str, state: str, browser_binding: str | None) -> dict[str, Any]:
    key = _pending_login_key(state)
    pending = cache.get(key)
    # Only the caller whose delete removed the key may use it: a replayed or concurrent
    # callback with the same state fails, and so does any retry after a failure.
    if pending is None or not cache.delete(key):
        raise StateInvalid("The state is unknown, expired or already used; begin the login again.")
    if pending["expires_at"] <= time.time():
        raise StateInvalid("The login took too long; begin it again.")
    if pending["provider"] != provider:
        raise StateInvalid("The state belongs to a login with another provider.")
    expected = pending.get("binding_hash")
    if expected and not (browser_binding and hmac.compare_digest(_binding_hash(browser_binding), expected)):
        # A code and state leaked from another browser (a log, a history): spent, never redeemed.
        raise StateInvalid("This sign-in was begun in another browser, or its cookie was lost; begin it again.")
    return pending


@bounded_by_provider_limits
def social_login_complete(
    *,
    provider: str,
    code: str,
    state: str,
    browser_binding: str | None = None,
    user_agent: str = "",
    ip: str | None = None,
) -> SocialLogin:
    """Exchanges the code on the backend, upserts the user, and starts a session."""
    selected = provider_get(provider)
    pending = _pending_login_consume(provider=selected.name, state=state, browser_binding=browser_binding)
    token = selected.exchange(
        code=code, code_verifier=pending["code_verifier"], redirect_uri=pending["redirect_uri"], state=state
    )
    identity = selected.identity(token, nonce=pending["nonce"])
    if pending.get("display_name") and not identity.display_name:
        # A name the provider sent only once, with the code (Apple's first authorization).
        identity = replace(identity, display_name=pending["display_name"])
    return _social_login_finish(
        provider=selected.name,
        identity=identity,
        user_agent=user_agent,
        ip=ip,
        link_user_id=pending.get("link_user_id"),
    )


@bounded_by_provider_limits
def social_login_with_token(
    *,
    provider: str,
    id_token: str | None = None,
    nonce: str | None = None,
    access_token: str | None = None,
    display_name: str | None = None,
    user_agent: str = "",
    ip: str | None = None,
) -> SocialLogin:
    """Signs in with a token a native SDK obtained from the provider, as /callback would with a code.

    `display_name` is what the app was told once and the token does not carry (Apple's first
    authorization gives the app the name, never the id_token); it only fills an empty name.
    """
    selected = provider_get(provider)
    if id_token is not None:
        identity = selected.identity_from_id_token(id_token, nonce=nonce)
    else:
        assert access_token is not None, "TokenIn requires one of id_token and access_token"
        identity = selected.identity_from_access_token(access_token)
    if display_name and not identity.display_name:
        identity = replace(identity, display_name=display_name)
    return _social_login_finish(provider=selected.name, identity=identity, user_agent=user_agent, ip=ip)


def _social_login_finish(
    *, provider: str, identity: Identity, user_agent: str, ip: str | None, link_user_id: int | None = None
) -> SocialLogin:
    if social_settings().require_email and not identity.email_trusted:
        raise EmailRequired(f"Sign in with a {provider} account that shares a verified email.")
    account, created = social_account_upsert(provider=provider, identity=identity, link_user_id=link_user_id)
    if not account.user.is_active:
        raise AccountDisabled("An administrator has disabled this account.")
    tokens = session_start(user=account.user, user_agent=user_agent, ip=ip)
    emit(AuthEvent.SIGN_IN, outcome="success", provider=provider, user_id=account.user.pk, created=created)
    return SocialLogin(tokens=tokens, user=account.user, created=created)


def social_account_upsert(
    *, provider: str, identity: Identity, link_user_id: int | None = None
) -> tuple[SocialAccount, bool]:
    """The account of this identity, created with its user at the first login, updated at every other.

    Returns the account and whether its user was created. With `link_user_id`, a new
    identity is attached to that user, and one that belongs to someone else is refused
    (IdentityInUse). Two first logins of one identity racing each other both try to
    insert; the unique constraint fails the second, which then finds the first one's row
    and updates it. A second failure in a row is a problem (LoginConflict), never a 500.
    """
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _social_account_upsert(provider=provider, identity=identity, link_user_id=link_user_id)
        except IntegrityError:
            if attempt:
                raise LoginConflict() from None
    raise AssertionError("unreachable")


def _social_account_find(*, provider: str, subject: str) -> SocialAccount | None:
    return (
        SocialAccount.objects.select_for_update()
        .select_related("user")
        .filter(provider=provider, subject=subject)
        .first()
    )


def _social_account_upsert(
    *, provider: str, identity: Identity, link_user_id: int | None
) -> tuple[SocialAccount, bool]:
    now = timezone.now()
    # Only a provider trusted for email (Identity.email_trusted) may give the user an address,
    # and only in canonical form (core.emails): one that has none (a non-ASCII local part) is
    # neither linked by nor stored on the user; the account row keeps what the provider said.
    verified_email = canonical_email_or_none(identity.email) if identity.email_trusted else None
    account = _social_account_find(provider=provider, subject=identity.subject)
    created = False
    if link_user_id is not None and account is not None and account.user_id != link_user_id:
        raise IdentityInUse("Sign in with it and unlink it there first.")
    if account is None:
        user: User | None = (
            _user_to_link_to(link_user_id)
            if link_user_id is not None
            else _user_to_link(verified_email if identity.email_links else None)
        )
        if user is None:
            user, created = _user_create(identity=identity, verified_email=verified_email), True
        account = SocialAccount(user=user, provider=provider, subject=identity.subject, first_login_at=now)
    account.email = identity.email or ""
    account.email_verified = verified_email is not None
    account.profile = identity.profile
    account.last_login_at = now
    account.save()
    _user_complete(account.user, identity=identity, verified_email=verified_email, now=now)
    return account, created


def _user_to_link_to(user_id: int) -> User:
    """The user who asked to link this identity, as long as they still may sign in."""
    user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    if user is None:
        raise AccountDisabled("The user who began linking is disabled or deleted.")
    return user


def _user_to_link(verified_email: str | None) -> User | None:
    """The existing user a new identity signs in as: the owner of its verified email, if linking is on.

    An account whose address was never verified was made by whoever typed the address, and
    that may be an attacker waiting for its owner to sign in with a provider (pre-account
    takeover). The provider has now proven the address is this person's: the account's
    password is made unusable and its sessions end before the identity is linked to it.
    """
    if verified_email is None or not social_settings().link_by_verified_email:
        return None
    # Staff and superusers sign in with their password, or an identity they linked while signed
    # in: an address at a provider must never be a way into an administrator's account.
    user = User.objects.select_for_update().filter(email=verified_email, is_staff=False, is_superuser=False).first()
    if user is not None and not user.email_verified:
        _unverified_account_claim(user)
    return user


def _unverified_account_claim(user: User) -> None:
    """Takes an unverified account from whoever set it up: no password, no sessions, no chosen name."""
    # Ended first, under their own reason: the unusable password would end them as a password change.
    session_end_all(user_id=user.pk, reason=SessionEndReason.EMAIL_CLAIMED)
    user.set_unusable_password()
    user.email_verified = True
    user.display_name = ""
    user.save(update_fields=["password", "email_verified", "display_name"])


def _email_is_free(email: str) -> bool:
    return not User.objects.filter(email=email).exists()


def _user_create(*, identity: Identity, verified_email: str | None) -> User:
    # A verified email another user already has (linking being off) stays off this user:
    # emails are unique, and the account row keeps it anyway.
    email = verified_email if verified_email and _email_is_free(verified_email) else None
    return User.objects.create_user(
        email=email,
        email_verified=email is not None,
        display_name=identity.display_name[:DISPLAY_NAME_MAX_LENGTH],
        avatar_url=_avatar_url(identity),
    )


def _avatar_url(identity: Identity) -> str:
    # A cut URL would be a broken one.
    return identity.avatar_url if len(identity.avatar_url) <= AVATAR_URL_MAX_LENGTH else ""


def _user_complete(user: User, *, identity: Identity, verified_email: str | None, now: datetime) -> None:
    """Fills what the user lacks from the provider; never replaces what the user has."""
    changes: dict[str, Any] = {"last_login": now}
    if user.email is None and verified_email and _email_is_free(verified_email):
        changes.update(email=verified_email, email_verified=True)
    if not user.display_name and identity.display_name:
        changes["display_name"] = identity.display_name[:DISPLAY_NAME_MAX_LENGTH]
    if not user.avatar_url and _avatar_url(identity):
        changes["avatar_url"] = _avatar_url(identity)
    for field, value in changes.items():
        setattr(user, field, value)
    user.save(update_fields=list(changes))


def social_account_delete(*, account_id: int) -> None:
    """Unlinks an identity: its next login creates or links a user afresh."""
    SocialAccount.objects.filter(pk=account_id).delete()


def social_accounts_revoke(*, user_id: int) -> None:
    """Unlinks the user's identities at the providers that allow it (Kakao, with SOCIAL_KAKAO_ADMIN_KEY).

    Before an account is deleted: the provider stops sharing the person's data with the app,
    as the person expects. A failure is a problem (502/504) and nothing else happens.
    """
    kakao = social_settings().providers.get(KAKAO)
    if not isinstance(kakao, KakaoConfig) or not kakao.admin_key:
        return
    subjects = SocialAccount.objects.filter(user_id=user_id, provider=KAKAO).values_list("subject", flat=True)
    for subject in subjects:
        provider = provider_get(KAKAO)
        assert isinstance(provider, KakaoProvider)
        provider.unlink(subject=subject)


def kakao_admin_key_valid(*, authorization: str) -> bool:
    """Whether a request carries `Authorization: KakaoAK <SOCIAL_KAKAO_ADMIN_KEY>`, as Kakao's callbacks do."""
    kakao = social_settings().providers.get(KAKAO)
    if not isinstance(kakao, KakaoConfig) or not kakao.admin_key:
        return False
    return hmac.compare_digest(authorization.encode(), f"KakaoAK {kakao.admin_key}".encode())


def social_account_unlinked_at_kakao(*, app_id: str, subject: str) -> int | None:
    """Removes the Kakao identity a user unlinked at Kakao; the id of its user, None if unknown.

    Kakao's unlink callback names the app: one for another app (SOCIAL_KAKAO_APP_ID) is refused.
    """
    kakao = social_settings().providers.get(KAKAO)
    if isinstance(kakao, KakaoConfig) and kakao.app_id and app_id != kakao.app_id:
        raise KakaoAppMismatch(f"The callback is for Kakao app {app_id!r}, not this one.")
    account = SocialAccount.objects.filter(provider=KAKAO, subject=subject).first()
    if account is None:
        return None
    account.delete()
    return account.user_id
