"""What every provider shares: the Identity it yields, the checks its mapping applies to what it
answered, its settings' base, and `Provider`, the HTTP seam to it.

Network and protocol failures become the Problems of social.errors; nothing here logs codes,
tokens or secrets.
"""

import logging
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Annotated, Any, ClassVar
from urllib.parse import urlencode, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from django.core.checks import CheckMessage
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _
from ninja import Router
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from core.conf import AppSettings
from core.cookies import is_loopback_host
from core.errors import Problem
from social.errors import CodeInvalid, NativeTokenUnsupported, ProviderTimeout, ProviderUnavailable
from social.outbound import session_with_deadline

logger = logging.getLogger(__name__)


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
        """Whether the provider vouches for the address: it may become the user's, and link to its owner."""
        return self.email_trusted and self.email_authoritative


# --- what a mapping checks: a provider answer of the wrong shape is 502, never a 500 ---------

_EMAIL_MAX_LENGTH = 254
_email_validator = EmailValidator()


def answer_object(value: Any, what: str) -> dict[str, Any]:
    """A JSON object the provider may leave out (None: an empty one)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProviderUnavailable(_("The provider's %(what)s is not an object.") % {"what": what})
    return value


def answer_text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ProviderUnavailable(_("The provider's %(what)s is not a string.") % {"what": what})
    if "\x00" in value:  # no database text column holds it (PostgreSQL refuses it): a malformed answer
        raise ProviderUnavailable(_("The provider's %(what)s contains a NUL character.") % {"what": what})
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
        raise ProviderUnavailable(_("The provider's email is not an email address.")) from None
    return email


def answer_https_url(value: Any, what: str) -> str:
    """An https URL, or "" for anything else: a picture served over http would be mixed content."""
    url = answer_text(value, what)
    parts = urlsplit(url)
    return url if parts.scheme == "https" and parts.netloc else ""


def answer_subject(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ProviderUnavailable(_("The provider's answer has no usable subject."))
    return str(value)


# --- settings --------------------------------------------------------------------------------


def is_allowed_endpoint(url: str) -> bool:
    """https anywhere; http only on loopback, for local identity providers and tests."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and bool(parts.hostname) and is_loopback_host(parts.hostname or "")


def _endpoint(url: str) -> str:
    if not is_allowed_endpoint(url):
        raise PydanticCustomError(
            "endpoint", "{url} must be an https:// URL (http:// only on loopback hosts)", {"url": repr(url)}
        )
    return url


def _endpoint_or_empty(url: str) -> str:
    return url and _endpoint(url)


# A provider's URL: https, or http on loopback. `OptionalEndpoint` may also be "" (not set).
Endpoint = Annotated[str, AfterValidator(_endpoint)]
OptionalEndpoint = Annotated[str, AfterValidator(_endpoint_or_empty)]


class ProviderSettings(AppSettings):
    """A provider's settings, validated as declared (core.conf.AppSettings).

    A built-in provider's fields are read from the Django settings their alias names
    (`Field(alias="SOCIAL_KAKAO_CLIENT_ID")`), which config/settings.py reads from the
    environment variable of the same name; fields without an alias are fixed by the class.
    A provider is offered once `client_id` is set and every field in `required` is too.
    """

    name: str
    display_name: str
    client_id: str = ""
    client_secret: str = Field(default="", repr=False)
    scopes: tuple[str, ...] = ()
    # Whether a verified email from this provider may become the user's and link accounts.
    trust_email: bool = False
    # Fields a provider with a client id cannot work without (social.W001 names the missing ones).
    required: ClassVar[tuple[str, ...]] = ()

    @property
    def native(self) -> tuple[str, ...]:
        """What POST /{provider}/token takes from a native SDK: "id_token", "access_token", or nothing."""
        return ()

    def missing(self) -> tuple[str, ...]:
        """The settings this provider still lacks, by the names an operator sets."""
        return tuple(self.setting_name(field) for field in self.required if not getattr(self, field))


# --- the HTTP seam ------------------------------------------------------------------------------


class Provider(ABC):
    """One provider as a client of it: the authorization URL, the code exchange, the identity.

    A subclass names its settings class; the registry (social.providers.registry) lists the
    subclasses. The hooks below (`check`, `webhooks`, `revokes`/`revoke`, `posted_display_name`)
    are how a provider adds what it alone needs without a change outside its folder.
    """

    settings_class: ClassVar[type[ProviderSettings]]
    # Whether the provider posts the code to the backend (POST /{provider}/form-post).
    uses_form_post: ClassVar[bool] = False
    # Whether the authorization request carries a nonce that comes back in an id_token.
    uses_nonce: ClassVar[bool] = False
    # Endpoints the provider calls (mounted under /api/auth/ by social.api.webhooks_router).
    webhooks: ClassVar[Router | None] = None

    def __init__(self, config: ProviderSettings, *, timeout: tuple[float, float]) -> None:
        self.config = config
        self.timeout = timeout

    @property
    def name(self) -> str:
        return self.config.name

    @classmethod
    def configured(cls, *, taken: Collection[str]) -> list[ProviderSettings]:
        """This class's providers as the settings describe them (names in `taken` belong to others)."""
        return [cls.settings_class.from_django_settings()]

    @classmethod
    def check(cls, config: ProviderSettings) -> list[CheckMessage]:
        """Start-up checks of a configured provider's settings beyond their declared types (social.checks)."""
        return []

    @abstractmethod
    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str, nonce: str | None) -> str:
        """Where to send the browser, with PKCE (S256) and, for OpenID Connect, the nonce."""

    @abstractmethod
    def exchange(self, *, code: str, code_verifier: str, redirect_uri: str, state: str) -> dict[str, Any]:
        """The provider's token response for an authorization code (Naver wants the state again)."""

    @abstractmethod
    def identity(self, token: dict[str, Any], *, nonce: str | None) -> Identity:
        """The user behind a token response."""

    def identity_from_id_token(self, id_token: str, *, nonce: str | None) -> Identity:
        """The user behind an id_token a native SDK obtained (POST /token)."""
        raise NativeTokenUnsupported(
            _("%(provider)s takes no id_token at /token.") % {"provider": self.config.display_name}
        )

    def identity_from_access_token(self, access_token: str) -> Identity:
        """The user behind an access token a native SDK obtained (POST /token)."""
        raise NativeTokenUnsupported(
            _("%(provider)s takes no access_token at /token.") % {"provider": self.config.display_name}
        )

    def posted_display_name(self, user: str | None) -> str:
        """The name in what a form_post provider posted besides the code; "" when none."""
        return ""

    @property
    def revokes(self) -> bool:
        """Whether `revoke` tells the provider anything (before an account is deleted)."""
        return False

    def revoke(self, *, subject: str) -> None:
        """Ends the app's link to the user at the provider, as if the user had done it there."""
        raise NotImplementedError(f"{self.config.display_name} takes no revocation: `revokes` is False.")

    def vouched(self, identity: Identity) -> Identity:
        """The identity with `email_trusted` set from this provider's `trust_email`."""
        trusted = self.config.trust_email and identity.email is not None and identity.email_verified
        return replace(identity, email_trusted=trusted)

    def _client_secret(self) -> str:
        return self.config.client_secret

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
        url: str
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
            raise ProviderUnavailable(
                _("%(provider)s's token response has no access_token.") % {"provider": self.config.display_name}
            )
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
                _("%(provider)s refused the code: it is unknown, used or expired.")
                % {"provider": self.config.display_name},
                provider_error=provider_error,
            )
        raise ProviderUnavailable(
            _("%(provider)s refused the token request (%(error)s).")
            % {"provider": self.config.display_name, "error": str(error)},
            provider_error=provider_error,
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
            raise ProviderTimeout(
                _("%(provider)s did not answer in time.") % {"provider": self.config.display_name}
            ) from None
        except (requests.RequestException, ValueError) as exc:
            logger.warning("%s failed (%s): %s", self.name, what, exc.__class__.__name__)
            raise ProviderUnavailable(
                _("%(provider)s could not be reached or gave no JSON.") % {"provider": self.config.display_name}
            ) from None
