"""The social app's settings, read through `social_settings()` (see core.conf)."""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.conf import settings_accessor
from core.cookies import is_loopback_host

KAKAO = "kakao"
GOOGLE = "google"
# Google's id_tokens may name their issuer without the scheme (Google's OpenID Connect docs).
GOOGLE_BARE_ISSUER = "accounts.google.com"

_PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_OIDC_FIELDS = frozenset(
    {"display_name", "client_id", "client_secret", "discovery_url", "scopes", "client_ids", "trust_email"}
)


@dataclass(frozen=True)
class KakaoConfig:
    name: str
    display_name: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    authorize_url: str
    token_url: str
    userinfo_url: str
    # Kakao's numeric app ID: a native app's access token must have been issued to it.
    app_id: str = ""
    token_info_url: str = ""
    trust_email: bool = True

    @property
    def native(self) -> tuple[str, ...]:
        return ("access_token",) if self.app_id else ()


@dataclass(frozen=True)
class OIDCConfig:
    name: str
    display_name: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    discovery_url: str
    # Issuers accepted in id_tokens besides the discovery document's `issuer`.
    extra_issuers: tuple[str, ...] = ()
    # The native apps' client IDs (iOS, Android...), accepted as an id_token's audience at
    # /token besides `client_id`; the redirect flow accepts `client_id` only.
    client_ids: tuple[str, ...] = ()
    # Whether a verified email from this provider may become the user's and link accounts.
    trust_email: bool = False
    native: tuple[str, ...] = ("id_token",)


@dataclass(frozen=True)
class GoogleConfig(OIDCConfig):
    """Google is OpenID Connect with its own rule for which addresses are authoritative."""


ProviderConfig = KakaoConfig | OIDCConfig


@dataclass(frozen=True)
class SocialSettings:
    # Only the providers with a client id, in the order the frontend shows them.
    providers: dict[str, ProviderConfig]
    redirect_uris: frozenset[str]
    http_timeout: tuple[float, float]
    # One wall-clock bound on all of a callback's requests to its provider (social.outbound).
    callback_deadline: float
    # Callbacks each process runs at once; the excess answers 503 provider_busy.
    callback_concurrency: int
    pending_login_ttl: int
    link_by_verified_email: bool
    require_email: bool
    bind_to_browser: bool


def is_allowed_endpoint(url: str) -> bool:
    """https anywhere; http only on loopback, for local identity providers and tests."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and bool(parts.hostname) and is_loopback_host(parts.hostname or "")


def _endpoint(setting: str, url: str) -> str:
    if not is_allowed_endpoint(url):
        raise ImproperlyConfigured(f"{setting}={url!r} must be an https:// URL (http:// only on loopback hosts).")
    return url


def _kakao() -> KakaoConfig:
    return KakaoConfig(
        name=KAKAO,
        display_name="Kakao",
        client_id=settings.SOCIAL_KAKAO_CLIENT_ID,
        client_secret=settings.SOCIAL_KAKAO_CLIENT_SECRET,
        scopes=tuple(settings.SOCIAL_KAKAO_SCOPES),
        authorize_url=_endpoint("SOCIAL_KAKAO_AUTHORIZE_URL", settings.SOCIAL_KAKAO_AUTHORIZE_URL),
        token_url=_endpoint("SOCIAL_KAKAO_TOKEN_URL", settings.SOCIAL_KAKAO_TOKEN_URL),
        userinfo_url=_endpoint("SOCIAL_KAKAO_USERINFO_URL", settings.SOCIAL_KAKAO_USERINFO_URL),
        app_id=settings.SOCIAL_KAKAO_APP_ID,
        token_info_url=_endpoint("SOCIAL_KAKAO_TOKEN_INFO_URL", settings.SOCIAL_KAKAO_TOKEN_INFO_URL),
    )


def _google() -> GoogleConfig:
    return GoogleConfig(
        name=GOOGLE,
        display_name="Google",
        client_id=settings.SOCIAL_GOOGLE_CLIENT_ID,
        client_secret=settings.SOCIAL_GOOGLE_CLIENT_SECRET,
        scopes=tuple(settings.SOCIAL_GOOGLE_SCOPES),
        discovery_url=_endpoint("SOCIAL_GOOGLE_DISCOVERY_URL", settings.SOCIAL_GOOGLE_DISCOVERY_URL),
        extra_issuers=(GOOGLE_BARE_ISSUER,),
        client_ids=tuple(settings.SOCIAL_GOOGLE_CLIENT_IDS),
        trust_email=True,
    )


def _configured_oidc(name: str, entry: dict) -> OIDCConfig:
    setting = f"SOCIAL_OIDC_PROVIDERS[{name!r}]"
    if not _PROVIDER_NAME.match(name) or name in (KAKAO, GOOGLE):
        raise ImproperlyConfigured(f"{setting}: the name must be a lower-case slug other than kakao and google.")
    unknown = set(entry) - _OIDC_FIELDS
    if unknown:
        raise ImproperlyConfigured(f"{setting}: unknown fields {sorted(unknown)}; allowed: {sorted(_OIDC_FIELDS)}.")
    if not entry.get("discovery_url"):
        raise ImproperlyConfigured(f"{setting}: `discovery_url` is required.")
    return OIDCConfig(
        name=name,
        display_name=entry.get("display_name") or name,
        client_id=entry.get("client_id", ""),
        client_secret=entry.get("client_secret", ""),
        scopes=tuple(entry.get("scopes") or ("openid", "email", "profile")),
        discovery_url=_endpoint(f"{setting}['discovery_url']", entry["discovery_url"]),
        client_ids=_string_list(f"{setting}['client_ids']", entry.get("client_ids", [])),
        trust_email=entry.get("trust_email", False) is True,
    )


def _string_list(setting: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ImproperlyConfigured(f"{setting} must be a list of non-empty strings.")
    return tuple(value)


@settings_accessor
def social_settings() -> SocialSettings:
    candidates: list[KakaoConfig | OIDCConfig] = [_kakao(), _google()]
    candidates += [_configured_oidc(name, entry) for name, entry in settings.SOCIAL_OIDC_PROVIDERS.items()]
    return SocialSettings(
        providers={config.name: config for config in candidates if config.client_id},
        redirect_uris=frozenset(settings.SOCIAL_REDIRECT_URIS),
        http_timeout=(settings.SOCIAL_HTTP_CONNECT_TIMEOUT, settings.SOCIAL_HTTP_READ_TIMEOUT),
        callback_deadline=settings.SOCIAL_CALLBACK_DEADLINE,
        callback_concurrency=settings.SOCIAL_CALLBACK_CONCURRENCY,
        pending_login_ttl=settings.SOCIAL_PENDING_LOGIN_TTL,
        link_by_verified_email=settings.SOCIAL_LINK_BY_VERIFIED_EMAIL,
        require_email=settings.SOCIAL_REQUIRE_EMAIL,
        bind_to_browser=settings.SOCIAL_BIND_TO_BROWSER,
    )
