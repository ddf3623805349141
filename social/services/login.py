"""A sign-in through a provider: begin it, forward a code the provider posted, complete it.

A login is begun by /authorize, which keeps `{provider, redirect_uri, code_verifier, nonce,
binding_hash, expires_at}` in the cache under a fresh state; /callback consumes that state exactly once,
checks that it comes from the browser that began the login, exchanges the code on the
backend, and upserts the user from what the provider itself returned (social.services.accounts).
"""

import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from accounts.devices import SignIn, device_is_new, device_token_read
from core.errors import AccountDisabled
from core.events import AuthEvent, emit
from core.models import User
from mfa import services as mfa_services
from social.conf import social_settings
from social.errors import EmailRequired, ProviderUnknown, RedirectUriNotAllowed, StateInvalid
from social.outbound import callback_bulkhead, provider_deadline
from social.providers.base import Identity
from social.selectors import provider_get
from social.services.accounts import social_account_upsert
from tokens.errors import NotAuthenticated
from tokens.services import Principal

F = TypeVar("F", bound=Callable[..., Any])


def bounded_by_provider_limits(function: F) -> F:
    """Runs `function` in a bulkhead slot and within one provider deadline (SOCIAL_CALLBACK_*)."""

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        conf = social_settings()
        with callback_bulkhead.slot(conf.callback_concurrency), provider_deadline(conf.callback_deadline):
            return function(*args, **kwargs)

    return bounded  # type: ignore[return-value]


@dataclass(frozen=True)
class LoginStart:
    authorization_url: str
    state: str
    # The secret the browser keeps in a cookie and brings back to /callback; None with the binding off.
    browser_binding: str | None


@dataclass(frozen=True)
class SocialLogin:
    # The pair, and a device token for the client (accounts.devices).
    sign_in: SignIn
    user: User
    # Whether this login created the user (not merely linked a new identity to one).
    created: bool


# RFC 8176 lists no value for a sign-in delegated to another identity provider; Microsoft Entra ID's `fed`.
AMR_FEDERATED = "fed"


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
        raise RedirectUriNotAllowed(
            _("%(redirect_uri)s is not listed in SOCIAL_REDIRECT_URIS.") % {"redirect_uri": repr(redirect_uri)}
        )
    link_user_id = None
    if intent == "link":
        if not isinstance(principal, Principal):
            raise NotAuthenticated(_("Linking an identity needs the access token of the user to link it to."))
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
        raise ProviderUnknown(
            _("%(provider)s does not post codes to the backend.") % {"provider": selected.config.display_name}
        )
    key = _pending_login_key(state)
    pending: dict[str, Any] | None = cache.get(key)
    if pending is None or pending["provider"] != selected.name or pending["expires_at"] <= time.time():
        raise StateInvalid(_("The state is unknown, expired or for another provider; begin the login again."))
    name = selected.posted_display_name(user)
    if name:
        pending["display_name"] = name
        cache.set(key, pending, timeout=max(int(pending["expires_at"] - time.time()), 1))
    query = {"code": code, "state": state} if code else {"error": error or "server_error", "state": state}
    separator = "&" if "?" in pending["redirect_uri"] else "?"
    return f"{pending['redirect_uri']}{separator}{urlencode(query)}"


def _pending_login_consume(*, provider: str, state: str, browser_binding: str | None) -> dict[str, Any]:
    key = _pending_login_key(state)
    pending: dict[str, Any] | None = cache.get(key)
    # Only the caller whose delete removed the key may use it: a replayed or concurrent
    # callback with the same state fails, and so does any retry after a failure.
    if pending is None or not cache.delete(key):
        raise StateInvalid(_("The state is unknown, expired or already used; begin the login again."))
    if pending["expires_at"] <= time.time():
        raise StateInvalid(_("The login took too long; begin it again."))
    if pending["provider"] != provider:
        raise StateInvalid(_("The state belongs to a login with another provider."))
    expected = pending.get("binding_hash")
    if expected and not (browser_binding and hmac.compare_digest(_binding_hash(browser_binding), expected)):
        # A code and state leaked from another browser (a log, a history): spent, never redeemed.
        raise StateInvalid(_("This sign-in was begun in another browser, or its cookie was lost; begin it again."))
    return pending


@bounded_by_provider_limits
def social_login_complete(
    *,
    provider: str,
    code: str,
    state: str,
    browser_binding: str | None = None,
    device_token: str | None = None,
    user_agent: str = "",
    ip: str | None = None,
    language: str = "",
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
        device_token=device_token,
        user_agent=user_agent,
        ip=ip,
        link_user_id=pending.get("link_user_id"),
        language=language,
    )


@bounded_by_provider_limits
def social_login_with_token(
    *,
    provider: str,
    id_token: str | None = None,
    nonce: str | None = None,
    access_token: str | None = None,
    display_name: str | None = None,
    device_token: str | None = None,
    user_agent: str = "",
    ip: str | None = None,
    language: str = "",
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
    # A native app's endpoint: no cookie jar to bind an mfa_token to.
    return _social_login_finish(
        provider=selected.name,
        identity=identity,
        device_token=device_token,
        user_agent=user_agent,
        ip=ip,
        language=language,
        bind_to_browser=False,
    )


def _social_login_finish(
    *,
    provider: str,
    identity: Identity,
    device_token: str | None,
    user_agent: str,
    ip: str | None,
    link_user_id: int | None = None,
    language: str = "",
    bind_to_browser: bool = True,
) -> SocialLogin:
    """`language`, the one the request asked for (core.languages), becomes the user's if theirs is not known yet:
    at the first sign-in, and at the first one since a sign-up that did not say. `device_token`: the client's,
    from an earlier sign-in of any kind (accounts.devices)."""
    if social_settings().require_email and not identity.email_links:
        raise EmailRequired(
            _("Sign in with a %(provider)s account that shares a verified email.") % {"provider": provider}
        )
    account, created = social_account_upsert(provider=provider, identity=identity, link_user_id=link_user_id)
    if not account.user.is_active:
        raise AccountDisabled(_("An administrator has disabled this account."))
    if language and not account.user.language:
        account.user.language = language
        account.user.save(update_fields=["language"])
    # An account's first sign-in is no news to its owner, nor is a link begun from a session of theirs.
    new_device = (
        not created and link_user_id is None and device_is_new(device_token_read(device_token), user=account.user)
    )
    sign_in = mfa_services.sign_in_on_device(
        account.user,
        amr=[AMR_FEDERATED],
        new_device=new_device,
        user_agent=user_agent,
        ip=ip,
        bind_to_browser=bind_to_browser,
    )
    emit(AuthEvent.SIGN_IN, outcome="success", provider=provider, user_id=account.user.pk, created=created)
    return SocialLogin(sign_in=sign_in, user=account.user, created=created)
