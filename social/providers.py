"""Talking to sign-in providers: the only module that imports Authlib and joserfc.

Three parts, each readable and testable alone (the seam django-allauth draws):

- mapping: pure functions from what a provider answered (Kakao's user, OpenID Connect
  claims) to an `Identity`; no HTTP, so tests feed them plain dicts;
- the id_token: decoding (the provider's keys, the algorithms allowed, an unknown `kid`)
  apart from the claim rules (issuer, audience, expiry, nonce, `azp`);
- fetching: one `Provider` class per kind of provider, which builds the authorization URL,
  exchanges a code (with its PKCE verifier) and fetches what the mapping needs.
  `OpenIDConnectProvider` serves Google and every provider configured by a discovery URL;
  `KakaoProvider` speaks Kakao's plain OAuth 2.0.

Adding a provider is one `Provider` subclass naming its config class in `config_class`,
and one configuration entry (docs/providers.md). Network and protocol failures become the
Problems of social.errors; nothing here logs codes, tokens or secrets.
"""

import functools
import hashlib
import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, ClassVar, cast
from urllib.parse import urlencode, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import ECKey, KeySet, KeySetSerialization

from core.errors import Problem
from social.conf import (
    AppleConfig,
    GoogleConfig,
    KakaoConfig,
    NaverConfig,
    OIDCConfig,
    ProviderConfig,
    is_allowed_endpoint,
    social_settings,
)
from social.errors import (
    CodeInvalid,
    IdTokenInvalid,
    NativeTokenUnsupported,
    ProviderTimeout,
    ProviderTokenInvalid,
    ProviderUnavailable,
    ProviderUnknown,
    TokenAudienceInvalid,
)
from social.outbound import session_with_deadline

logger = logging.getLogger(__name__)

# Discovery documents and JWKS change rarely; an unknown `kid` refetches the JWKS at once.
METADATA_CACHE_TTL = 3600
# After a discovery document or JWKS failed validation, seconds before the provider is asked again.
METADATA_RETRY_AFTER = 30
# An unknown `kid` refetches the JWKS at most once in this many seconds.
JWKS_REFETCH_INTERVAL = 60
# Clock skew tolerated on an id_token's `exp` and `iat`, in seconds.
ID_TOKEN_LEEWAY = 60
# Signatures an id_token may carry (intersected with the discovery document's list). No
# `none`, and no HMAC: that would make the client secret a signing key.
ID_TOKEN_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})


@dataclass(frozen=True)
class Identity:
    """Who the provider says the user is, from what the backend fetched and verified itself."""

    subject: str
    email: str | None
    # What the provider says of the address.
    email_verified: bool
    display_name: str
    # https only: anything else is dropped by the mapping.
    avatar_url: str
    profile: dict[str, Any]
    # Whether the address may be matched against an existing user's: Google's own guidance
    # makes a non-Gmail address without an `hd` (Workspace) claim non-authoritative.
    email_authoritative: bool = True
    # Set by the provider from its configuration (`trust_email`): a verified address from a
    # provider that lets users claim any address as verified is never believed.
    email_trusted: bool = False

    @property
    def email_links(self) -> bool:
        """Whether this identity may be linked to the existing user who has its email."""
        return self.email_trusted and self.email_authoritative


# --- mapping: a provider's answer -> Identity (pure) ----------------------------------------
# Each checks the shape it reads: a provider answer of the wrong shape is 502, never a 500.

_EMAIL_MAX_LENGTH = 254
_email_validator = EmailValidator()


def answer_object(value: Any, what: str) -> dict[str, Any]:
    """A JSON object the provider may leave out (None: an empty one)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProviderUnavailable(f"The provider's {what} is not an object.")
    return value


def answer_text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ProviderUnavailable(f"The provider's {what} is not a string.")
    return value


def answer_email(value: Any) -> str | None:
    """An address, or None when the provider gave none; anything else that is not one is 502."""
    email = answer_text(value, "email")
    if not email:
        return None
    try:
        if len(email) > _EMAIL_MAX_LENGTH:
            raise ValidationError("too long")
        _email_validator(email)
    except ValidationError:
        raise ProviderUnavailable("The provider's email is not an email address.") from None
    return email


def answer_https_url(value: Any, what: str) -> str:
    """An https URL, or "" for anything else: a picture served over http would be mixed content."""
    url = answer_text(value, what)
    parts = urlsplit(url)
    return url if parts.scheme == "https" and parts.netloc else ""


def answer_subject(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ProviderUnavailable("The provider's answer has no usable subject.")
    return str(value)


def kakao_identity(user: dict[str, Any]) -> Identity:
    """Kakao's `GET /v2/user/me` body. Its email counts only with all three of Kakao's flags on."""
    if user.get("id") is None:
        raise ProviderUnavailable("Kakao's user info has no id.")
    account = answer_object(user.get("kakao_account"), "kakao_account")
    profile = answer_object(account.get("profile"), "kakao_account.profile")
    email_usable = all(account.get(flag) is True for flag in ("has_email", "is_email_valid", "is_email_verified"))
    email = answer_email(account.get("email")) if email_usable else None
    return Identity(
        subject=answer_subject(user["id"]),
        email=email,
        email_verified=email is not None,
        display_name=answer_text(profile.get("nickname"), "nickname"),
        avatar_url=""
        if profile.get("is_default_image")
        else answer_https_url(profile.get("profile_image_url"), "profile_image_url"),
        profile=user,
    )


def oidc_identity(claims: dict[str, Any]) -> Identity:
    """Verified id_token claims (merged with UserInfo where the id_token lacks the email)."""
    return Identity(
        subject=answer_subject(claims["sub"]),
        email=answer_email(claims.get("email")),
        email_verified=claims.get("email_verified") is True,
        display_name=answer_text(claims.get("name"), "name") or answer_text(claims.get("given_name"), "given_name"),
        avatar_url=answer_https_url(claims.get("picture"), "picture"),
        profile=claims,
    )


def google_identity(claims: dict[str, Any]) -> Identity:
    """Google's claims; only a Gmail address or a Workspace one (`hd`) may link to an existing user."""
    identity = oidc_identity(claims)
    gmail = (identity.email or "").lower().endswith("@gmail.com")
    return replace(identity, email_authoritative=gmail or bool(claims.get("hd")))


def kakao_id_token_identity(claims: dict[str, Any]) -> Identity:
    """Kakao's id_token claims: `sub` is the user's id, as in /v2/user/me, so both paths find one account.

    The id_token carries no verification flags (those are in /v2/user/me), so its email is
    recorded and never believed.
    """
    return Identity(
        subject=answer_subject(claims["sub"]),
        email=answer_email(claims.get("email")),
        email_verified=False,
        display_name=answer_text(claims.get("nickname"), "nickname"),
        avatar_url=answer_https_url(claims.get("picture"), "picture"),
        profile=claims,
    )


def naver_identity(body: dict[str, Any]) -> Identity:
    """Naver's `GET /v1/nid/me` envelope: `resultcode` "00" and the profile in `response`.

    Naver says nothing of the address's verification: it counts as verified, and the
    provider's `trust_email` (off by default) decides whether it is believed.
    """
    if body.get("resultcode") != "00":
        raise ProviderUnavailable(
            "Naver refused the profile request.", provider_error=answer_text(body.get("resultcode"), "resultcode")
        )
    profile = answer_object(body.get("response"), "response")
    email = answer_email(profile.get("email"))
    return Identity(
        subject=answer_subject(profile.get("id")),
        email=email,
        email_verified=email is not None,
        display_name=answer_text(profile.get("nickname"), "nickname") or answer_text(profile.get("name"), "name"),
        avatar_url=answer_https_url(profile.get("profile_image"), "profile_image"),
        profile=profile,
    )


# Apple relays mail to these addresses; Apple verified them itself.
APPLE_PRIVATE_RELAY_DOMAIN = "@privaterelay.appleid.com"


def _apple_true(value: Any) -> bool:
    # Apple's boolean claims come as JSON booleans or as the strings "true"/"false".
    return value is True or value == "true"


def apple_identity(claims: dict[str, Any]) -> Identity:
    """Apple's id_token claims. Apple sends the name only once, in the form post (apple_user_name)."""
    email = answer_email(claims.get("email"))
    private_relay = _apple_true(claims.get("is_private_email")) or (email or "").lower().endswith(
        APPLE_PRIVATE_RELAY_DOMAIN
    )
    return Identity(
        subject=answer_subject(claims["sub"]),
        email=email,
        email_verified=email is not None and (_apple_true(claims.get("email_verified")) or private_relay),
        display_name="",
        avatar_url="",
        profile=claims,
    )


def apple_user_name(user: str | None) -> str:
    """The name in the `user` JSON Apple posts at the first authorization only; "" when absent or unusable."""
    if not user:
        return ""
    try:
        name = json.loads(user).get("name") or {}
        parts = [answer_text(name.get("firstName"), "firstName"), answer_text(name.get("lastName"), "lastName")]
    except (ValueError, AttributeError, ProviderUnavailable):
        return ""
    return " ".join(part.strip() for part in parts if part.strip())


# --- the id_token: decoding, then claim rules -----------------------------------------------


def id_token_decode(id_token: str, *, key_set: Callable[..., KeySet], algorithms: Iterable[str]) -> dict[str, Any]:
    """The claims of an id_token signed by one of the provider's keys; no claim is checked here.

    `key_set(refresh=True)` must fetch the keys afresh: an unknown `kid` means the provider
    may have rotated its keys since they were cached, so they are fetched once more.
    """
    allowed = sorted(ID_TOKEN_ALGORITHMS.intersection(algorithms))
    if not allowed:
        # joserfc would fall back to its own default list when given an empty one.
        raise IdTokenInvalid("The provider signs id_tokens with no algorithm accepted here.")
    try:
        try:
            token = jwt.decode(id_token, key_set(refresh=False), algorithms=allowed)
        except InvalidKeyIdError:
            token = jwt.decode(id_token, key_set(refresh=True), algorithms=allowed)
    except (JoseError, ValueError) as exc:
        raise IdTokenInvalid(f"The id_token did not verify: {exc}") from None
    return dict(token.claims)


def id_token_claims_check(
    claims: dict[str, Any], *, issuers: Iterable[str], client_ids: Iterable[str], nonces: Collection[str]
) -> None:
    """OpenID Connect Core 3.1.3.7: issuer, audience, `azp`, expiry, issue time and nonce.

    `nonces` are the values the token's `nonce` may take; none at all means the token must
    carry none (a token minted for a nonce is refused when the request had none).
    """
    allowed_clients = list(client_ids)
    rules: dict[str, Any] = {
        "iss": {"essential": True, "values": list(issuers)},
        "aud": {"essential": True, "values": allowed_clients},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    if nonces:
        rules["nonce"] = {"essential": True, "values": list(nonces)}
    elif "nonce" in claims:
        raise IdTokenInvalid("The id_token carries a nonce, and the request none.")
    try:
        jwt.JWTClaimsRegistry(leeway=ID_TOKEN_LEEWAY, **rules).validate(claims)
    except (JoseError, ValueError) as exc:
        raise IdTokenInvalid(f"The id_token did not verify: {exc}") from None
    # With several audiences, `azp` must name one of this provider's clients.
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") not in allowed_clients:
        raise IdTokenInvalid("The id_token was issued to another client (azp).")


# --- fetching: one class per kind of provider -----------------------------------------------


class Provider(ABC):
    # The conf.py dataclass this class serves: provider_get picks the class by it.
    config_class: ClassVar[type]
    # Whether the provider posts the code to the backend (POST /{provider}/form-post).
    uses_form_post: ClassVar[bool] = False
    # Whether the authorization request carries a nonce that comes back in an id_token.
    uses_nonce: ClassVar[bool] = False

    def __init__(self, config: ProviderConfig, *, timeout: tuple[float, float]) -> None:
        self.config = config
        self.timeout = timeout

    @property
    def name(self) -> str:
        return self.config.name

    @abstractmethod
    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str, nonce: str | None) -> str:
        """Where to send the browser, with PKCE (S256) and, for OpenID Connect, the nonce."""

    @abstractmethod
    def exchange(self, *, code: str, code_verifier: str, redirect_uri: str, state: str) -> dict[str, Any]:
        """The provider's token response for an authorization code (Naver wants the state again)."""

    @abstractmethod
    def identity(self, token: dict[str, Any], *, nonce: str | None) -> Identity:
        """The user behind a token response."""

    def _client_secret(self) -> str:
        return self.config.client_secret

    def vouched(self, identity: Identity) -> Identity:
        """The identity with `email_trusted` set from this provider's `trust_email`."""
        trusted = self.config.trust_email and identity.email is not None and identity.email_verified
        return replace(identity, email_trusted=trusted)

    def identity_from_id_token(self, id_token: str, *, nonce: str | None) -> Identity:
        """The user behind an id_token a native SDK obtained (POST /token)."""
        raise NativeTokenUnsupported(f"{self.config.display_name} takes no id_token at /token.")

    def identity_from_access_token(self, access_token: str) -> Identity:
        """The user behind an access token a native SDK obtained (POST /token)."""
        raise NativeTokenUnsupported(f"{self.config.display_name} takes no access_token at /token.")

    def _session(
        self,
        *,
        token_endpoint_auth_method: str = "client_secret_post",  # noqa: S107 (a method name)
        token: dict[str, Any] | None = None,
    ) -> OAuth2Session:
        session = OAuth2Session(
            client_id=self.config.client_id,
            client_secret=self._client_secret(),
            token_endpoint_auth_method=token_endpoint_auth_method,
            scope=list(self.config.scopes),
            code_challenge_method="S256",
            token=token,
        )
        # Bounded by the callback's one deadline (social.outbound), not only per read.
        return session_with_deadline(session)

    def _authorization_url(
        self, endpoint: str, *, redirect_uri: str, state: str, code_verifier: str, **params: str
    ) -> str:
        url, _state = self._session().create_authorization_url(
            endpoint, state=state, code_verifier=code_verifier, redirect_uri=redirect_uri, **params
        )
        return url

    def _fetch_token(
        self,
        endpoint: str,
        *,
        code: str,
        code_verifier: str,
        redirect_uri: str,
        token_endpoint_auth_method: str,
        **params: str,
    ) -> dict[str, Any]:
        with self._session(token_endpoint_auth_method=token_endpoint_auth_method) as session, self._outbound("token"):
            # Authlib keeps only `error` and `error_description` of an error body; Kakao's own
            # `error_code` (KOE320...) is read here, before Authlib parses the response.
            session.register_compliance_hook("access_token_response", self._refuse_token_error)
            token = session.fetch_token(
                endpoint,
                code=code,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
                timeout=self.timeout,
                # Authlib keeps a `state` keyword for itself: extra fields go in the body.
                body=urlencode(params),
            )
        if not token.get("access_token"):
            raise ProviderUnavailable(f"{self.config.display_name}'s token response has no access_token.")
        return dict(token)

    def _refuse_token_error(self, response: requests.Response) -> requests.Response:
        try:
            body = response.json()
        except ValueError:
            return response  # Authlib raises on a body that is not JSON; _outbound maps it.
        if not isinstance(body, dict) or "error" not in body:
            return response
        error = str(body["error"])
        provider_error = str(body.get("error_code") or error)
        logger.info("%s refused a code: %s (HTTP %s)", self.name, provider_error, response.status_code)
        if error == "invalid_grant":
            raise CodeInvalid(
                f"{self.config.display_name} refused the code: it is unknown, used or expired.",
                provider_error=provider_error,
            )
        raise ProviderUnavailable(
            f"{self.config.display_name} refused the token request ({error}).", provider_error=provider_error
        )

    def _get_json(
        self,
        url: str,
        *,
        token: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        refused_token: type[Problem] = ProviderUnavailable,
    ) -> dict[str, Any]:
        """The JSON object at `url`; `refused_token` is raised when the provider refuses the token (4xx)."""
        with self._session(token=token) as session, self._outbound(url):
            response = session.get(url, params=params, timeout=self.timeout, withhold_token=token is None)
            body = response.json()
        if response.status_code >= 400 or not isinstance(body, dict):
            # Kakao's API errors look like {"msg": "...", "code": -401}.
            # Naver's: {"resultcode": "024", "message": "Authentication failed"}.
            provider_error = (
                str(body.get("code") or body.get("error") or body.get("resultcode") or "")
                if isinstance(body, dict)
                else ""
            )
            logger.warning("%s answered HTTP %s (%s) on %s", self.name, response.status_code, provider_error, url)
            problem = refused_token if 400 <= response.status_code < 500 else ProviderUnavailable
            raise problem(
                f"{self.config.display_name} answered HTTP {response.status_code}.",
                **({"provider_error": provider_error} if provider_error else {}),
            )
        return body

    @contextmanager
    def _outbound(self, what: str) -> Iterator[None]:
        """Maps a failed request: timeouts to 504; refused connections, 5xx and non-JSON bodies to 502."""
        try:
            yield
        except requests.Timeout:
            logger.warning("%s timed out (%s)", self.name, what)
            raise ProviderTimeout(f"{self.config.display_name} did not answer in time.") from None
        except (requests.RequestException, ValueError) as exc:
            logger.warning("%s failed (%s): %s", self.name, what, exc.__class__.__name__)
            raise ProviderUnavailable(f"{self.config.display_name} could not be reached or gave no JSON.") from None


# Kakao's API error for a user who is not linked to the app (Kakao's REST API error codes).
KAKAO_NOT_LINKED = -101


class OAuth2Provider(Provider):
    """A plain OAuth 2.0 provider: a fixed authorization endpoint in its settings, no nonce."""

    config: KakaoConfig | NaverConfig

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str, nonce: str | None) -> str:
        return self._authorization_url(
            self.config.authorize_url, redirect_uri=redirect_uri, state=state, code_verifier=code_verifier
        )


class KakaoProvider(OAuth2Provider):
    config_class = KakaoConfig
    config: KakaoConfig

    def exchange(self, *, code: str, code_verifier: str, redirect_uri: str, state: str) -> dict[str, Any]:
        # Kakao takes the secret in the form, and none at all unless "Client Secret" is enabled.
        return self._fetch_token(
            self.config.token_url,
            code=code,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            token_endpoint_auth_method="client_secret_post" if self.config.client_secret else "none",
        )

    def identity(self, token: dict[str, Any], *, nonce: str | None) -> Identity:
        return self.vouched(kakao_identity(self._kakao_user(token)))

    def identity_from_id_token(self, id_token: str, *, nonce: str | None) -> Identity:
        """Kakao Login's OpenID Connect id_token, verified through Kakao's discovery document and keys."""
        if not self.config.client_ids:
            return super().identity_from_id_token(id_token, nonce=nonce)
        kakao_oidc = KakaoOpenIDConnect(
            OIDCConfig(
                name=self.name,
                display_name=self.config.display_name,
                client_id=self.config.client_id,
                client_secret="",
                scopes=(),
                discovery_url=self.config.discovery_url,
                client_ids=self.config.client_ids,
            ),
            timeout=self.timeout,
        )
        return kakao_oidc.identity_from_id_token(id_token, nonce=nonce)

    def identity_from_access_token(self, access_token: str) -> Identity:
        """A Kakao SDK's token, once Kakao says it was issued to our app (any Kakao app can mint one)."""
        if not self.config.app_id:
            return super().identity_from_access_token(access_token)
        token = {"access_token": access_token, "token_type": "bearer"}
        info = self._get_json(self.config.token_info_url, token=token, refused_token=ProviderTokenInvalid)
        if str(info.get("app_id")) != self.config.app_id:
            raise TokenAudienceInvalid("Kakao issued this access token to another app.")
        identity = kakao_identity(self._kakao_user(token, refused_token=ProviderTokenInvalid))
        if identity.subject != str(info.get("id")):
            raise ProviderUnavailable("Kakao's token info and user info name different users.")
        return self.vouched(identity)

    def unlink(self, *, subject: str) -> None:
        """Unlinks a user from the app at Kakao ("Unlink" with the Admin key), as if they had done it.

        Kakao answers `{"id": <user id>}`; -101 means the user is not linked to the app
        (already unlinked), which is the state wanted.
        """
        with self._outbound("unlink"):
            response = requests.post(
                self.config.unlink_url,
                headers={"Authorization": f"KakaoAK {self.config.admin_key}"},
                data={"target_id_type": "user_id", "target_id": subject},
                timeout=self.timeout,
            )
            body = response.json()
        if not isinstance(body, dict):
            raise ProviderUnavailable("Kakao's unlink answer is not a JSON object.")
        if response.status_code == 200 and str(body.get("id")) == subject:
            return
        if body.get("code") == KAKAO_NOT_LINKED:
            return
        provider_error = str(body.get("code") or "")
        logger.warning("kakao refused an unlink: HTTP %s (%s)", response.status_code, provider_error)
        raise ProviderUnavailable(
            f"Kakao refused to unlink the user (HTTP {response.status_code}).",
            **({"provider_error": provider_error} if provider_error else {}),
        )

    def _kakao_user(
        self, token: dict[str, Any], *, refused_token: type[Problem] = ProviderUnavailable
    ) -> dict[str, Any]:
        # secure_resource: image URLs over https (Kakao's default is http, which the mapping drops).
        return self._get_json(
            self.config.userinfo_url, token=token, params={"secure_resource": "true"}, refused_token=refused_token
        )


class OpenIDConnectProvider(Provider):
    """Google and any provider with a discovery document: endpoints and keys come from it."""

    config_class = OIDCConfig
    config: OIDCConfig
    uses_nonce = True
    # The mapping from verified claims to an Identity.
    map_claims = staticmethod(oidc_identity)

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str, nonce: str | None) -> str:
        assert nonce is not None, "uses_nonce: social_login_begin makes one"
        return self._authorization_url(
            self.metadata["authorization_endpoint"],
            redirect_uri=redirect_uri,
            state=state,
            code_verifier=code_verifier,
            nonce=nonce,
        )

    def exchange(self, *, code: str, code_verifier: str, redirect_uri: str, state: str) -> dict[str, Any]:
        # OpenID Connect Discovery: client_secret_basic when the document lists nothing.
        methods = self.metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        return self._fetch_token(
            self.metadata["token_endpoint"],
            code=code,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            token_endpoint_auth_method="client_secret_post"
            if "client_secret_post" in methods
            else "client_secret_basic",
        )

    def identity(self, token: dict[str, Any], *, nonce: str | None) -> Identity:
        assert nonce is not None, "uses_nonce: social_login_begin stored one with the pending login"
        # The redirect flow's token was requested by the web client: its ID is the only audience.
        claims = self.id_token_verify(token.get("id_token"), nonces=[nonce], client_ids=[self.config.client_id])
        if "email" not in claims and self.metadata.get("userinfo_endpoint"):
            # Some providers put the email only in the UserInfo response (OpenID Connect Core 5.4).
            claims = {**self._userinfo(token, subject=claims["sub"]), **claims}
        return self.vouched(self.map_claims(claims))

    def identity_from_id_token(self, id_token: str, *, nonce: str | None) -> Identity:
        # SDKs send the raw nonce as is (Google, Kakao) or its SHA-256 hex (Apple): either matches.
        nonces = [nonce, hashlib.sha256(nonce.encode()).hexdigest()] if nonce else []
        claims = self.id_token_verify(
            id_token, nonces=nonces, client_ids=[self.config.client_id, *self.config.client_ids]
        )
        self._id_token_spend(id_token, claims)
        return self.vouched(self.map_claims(claims))

    def _id_token_spend(self, id_token: str, claims: dict[str, Any]) -> None:
        """Accepts an id_token once: a copy replayed within its lifetime is refused."""
        jti = claims.get("jti")
        spent = f"jti:{jti}" if isinstance(jti, str) and jti else f"token:{id_token}"
        key = f"social:id_token:{self.name}:" + hashlib.sha256(spent.encode()).hexdigest()
        lifetime = int(claims["exp"]) - int(time.time()) + ID_TOKEN_LEEWAY
        if not cache.add(key, True, timeout=max(lifetime, 1)):
            raise IdTokenInvalid("This id_token was already used.")

    def id_token_verify(self, id_token: Any, *, nonces: Collection[str], client_ids: Iterable[str]) -> dict[str, Any]:
        """The claims of an id_token this provider signed for one of `client_ids`, with one of `nonces`."""
        if not isinstance(id_token, str) or not id_token:
            raise IdTokenInvalid(f"{self.config.display_name}'s token response has no id_token.")
        claims = id_token_decode(
            id_token,
            key_set=self._key_set,
            algorithms=self.metadata.get("id_token_signing_alg_values_supported") or ["RS256"],
        )
        id_token_claims_check(
            claims,
            issuers=[self.metadata["issuer"], *self.config.extra_issuers],
            client_ids=client_ids,
            nonces=nonces,
        )
        return claims

    @functools.cached_property
    def metadata(self) -> dict[str, Any]:
        """The discovery document, read (from the cache or the provider) once per instance, so once per request."""
        return self._cached_json(self.config.discovery_url, validate=self._check_metadata)

    def _check_metadata(self, metadata: dict[str, Any]) -> None:
        endpoints = ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(metadata.get("issuer"), str) or not metadata["issuer"]:
            raise ProviderUnavailable(f"{self.config.display_name}'s discovery document has no issuer.")
        if not all(isinstance(metadata.get(key), str) and is_allowed_endpoint(metadata[key]) for key in endpoints):
            raise ProviderUnavailable(f"{self.config.display_name}'s discovery document lacks an https endpoint.")

    def _userinfo(self, token: dict[str, Any], *, subject: str) -> dict[str, Any]:
        endpoint = self.metadata["userinfo_endpoint"]
        if not isinstance(endpoint, str) or not is_allowed_endpoint(endpoint):
            raise ProviderUnavailable(f"{self.config.display_name}'s userinfo_endpoint is not https.")
        userinfo = self._get_json(endpoint, token=token)
        # OpenID Connect Core 5.3.2: a UserInfo response about another subject must not be used.
        if userinfo.get("sub") != subject:
            raise ProviderUnavailable(f"{self.config.display_name}'s UserInfo is about another subject.")
        return userinfo

    def _cached_json(
        self, url: str, *, validate: Callable[[dict[str, Any]], object], refresh: bool = False
    ) -> dict[str, Any]:
        """The document at `url`, cached for an hour only once `validate` accepted it.

        A bad answer is not cached; it is remembered for METADATA_RETRY_AFTER seconds, during
        which the provider is not asked again (every login would otherwise refetch it).
        """
        # Keyed by URL, so that a changed discovery URL (another environment, a test) never
        # reads another provider's document.
        key = "social:json:" + hashlib.sha256(url.encode()).hexdigest()
        document = None if refresh else cache.get(key)
        if document is not None:
            return document
        # The pause's end is checked as well as the cache's own expiry, which Redis applies by its own clock.
        retry_at = cache.get(f"{key}:bad")
        if retry_at is not None and retry_at > time.time():
            raise ProviderUnavailable(f"{self.config.display_name} gave a bad answer moments ago; try again shortly.")
        try:
            document = self._get_json(url)
            validate(document)
        except ProviderUnavailable:
            cache.set(f"{key}:bad", time.time() + METADATA_RETRY_AFTER, timeout=METADATA_RETRY_AFTER)
            raise
        cache.set(key, document, timeout=METADATA_CACHE_TTL)
        return document

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        jwks_uri = self.metadata["jwks_uri"]
        if refresh:
            # An unknown `kid` refetches the keys, at most once per interval: otherwise anyone
            # could make every request fetch them by sending tokens with made-up key IDs.
            refresh = cache.add(
                "social:jwks-refetch:" + hashlib.sha256(jwks_uri.encode()).hexdigest(), True, JWKS_REFETCH_INTERVAL
            )
        return self._import_key_set(self._cached_json(jwks_uri, validate=self._import_key_set, refresh=refresh))

    def _import_key_set(self, document: dict[str, Any]) -> KeySet:
        keys = document.get("keys")
        try:
            if not isinstance(keys, list) or not keys:
                raise ValueError("no keys")
            # Whatever the provider served: import_key_set refuses what is not a key set.
            return KeySet.import_key_set(cast(KeySetSerialization, document))
        except (JoseError, ValueError, KeyError, TypeError):
            raise ProviderUnavailable(f"{self.config.display_name}'s JWKS is not a valid key set.") from None


class KakaoOpenIDConnect(OpenIDConnectProvider):
    """Kakao's id_tokens, checked as any OpenID Connect provider's; used by KakaoProvider only."""

    map_claims = staticmethod(kakao_id_token_identity)


class GoogleProvider(OpenIDConnectProvider):
    config_class = GoogleConfig
    config: GoogleConfig
    map_claims = staticmethod(google_identity)


class NaverProvider(OAuth2Provider):
    """Naver's OAuth 2.0: the state goes to the token endpoint too; the profile comes in an envelope."""

    config_class = NaverConfig
    config: NaverConfig

    def exchange(self, *, code: str, code_verifier: str, redirect_uri: str, state: str) -> dict[str, Any]:
        return self._fetch_token(
            self.config.token_url,
            code=code,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 (a method name)
            state=state,
        )

    def identity(self, token: dict[str, Any], *, nonce: str | None) -> Identity:
        return self.vouched(naver_identity(self._get_json(self.config.userinfo_url, token=token)))


# Apple accepts client secrets valid for up to six months; a short one limits what a leak gives.
APPLE_CLIENT_SECRET_TTL = 3600
# A secret this close to its expiry is not sent: a new one is signed.
APPLE_CLIENT_SECRET_RENEW_BEFORE = 300
APPLE_AUDIENCE = "https://appleid.apple.com"

_apple_secrets: dict[tuple[str, str, str, str], tuple[str, float]] = {}
_apple_secrets_lock = threading.Lock()


def apple_signing_key(pem: str) -> ECKey:
    """The .p8 key as an EC P-256 private key; ValueError when it is not one (social.E002)."""
    try:
        key = ECKey.import_key(pem)
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError("not a PEM EC private key") from exc
    if key.curve_name != "P-256" or not key.is_private:
        raise ValueError("not a P-256 private key")
    return key


def apple_client_secret(config: AppleConfig) -> str:
    """The ES256 JWT Apple takes as client secret, signed again shortly before it expires.

    Kept in this process only, never logged: it is a credential for Apple's token endpoint.
    """
    cache_key = (
        config.team_id,
        config.key_id,
        config.client_id,
        hashlib.sha256(config.private_key.encode()).hexdigest(),
    )
    now = time.time()
    with _apple_secrets_lock:
        secret, expires_at = _apple_secrets.get(cache_key, ("", 0.0))
        if expires_at - now > APPLE_CLIENT_SECRET_RENEW_BEFORE:
            return secret
        issued_at = int(now)
        claims = {
            "iss": config.team_id,
            "iat": issued_at,
            "exp": issued_at + APPLE_CLIENT_SECRET_TTL,
            "aud": APPLE_AUDIENCE,
            "sub": config.client_id,
        }
        try:
            key = apple_signing_key(config.private_key)
        except ValueError:
            raise ProviderUnavailable("Apple's client secret cannot be signed: see social.E002.") from None
        secret = jwt.encode({"alg": "ES256", "kid": config.key_id}, claims, key, algorithms=["ES256"])
        _apple_secrets[cache_key] = (secret, float(issued_at + APPLE_CLIENT_SECRET_TTL))
        return secret


class AppleProvider(OpenIDConnectProvider):
    """Sign in with Apple: a signed client secret, and the code posted to the backend (form_post)."""

    config_class = AppleConfig
    config: AppleConfig
    map_claims = staticmethod(apple_identity)
    # Apple posts the code to SOCIAL_APPLE_FORM_POST_URI when name or email are asked for;
    # /form-post hands it to the frontend's redirect_uri (social_form_post_forward).
    uses_form_post = True

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str, nonce: str | None) -> str:
        assert nonce is not None, "uses_nonce: social_login_begin makes one"
        return self._authorization_url(
            self.metadata["authorization_endpoint"],
            redirect_uri=self.config.form_post_uri,
            state=state,
            code_verifier=code_verifier,
            nonce=nonce,
            response_mode="form_post",
        )

    def exchange(self, *, code: str, code_verifier: str, redirect_uri: str, state: str) -> dict[str, Any]:
        # The code was issued for the URL Apple posted it to, not the frontend's.
        return super().exchange(
            code=code, code_verifier=code_verifier, redirect_uri=self.config.form_post_uri, state=state
        )

    def _client_secret(self) -> str:
        return apple_client_secret(self.config)


_PROVIDER_CLASSES: tuple[type[Provider], ...] = (
    KakaoProvider,
    NaverProvider,
    OpenIDConnectProvider,
    GoogleProvider,
    AppleProvider,
)
_CLASS_BY_CONFIG: dict[type, type[Provider]] = {cls.config_class: cls for cls in _PROVIDER_CLASSES}


def provider_get(name: str) -> Provider:
    """The configured provider of this name; ProviderUnknown if there is none."""
    conf = social_settings()
    config = conf.providers.get(name)
    if config is None:
        raise ProviderUnknown(f"No provider named {name!r} is configured.")
    return _CLASS_BY_CONFIG[type(config)](config, timeout=conf.http_timeout)
