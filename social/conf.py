"""The social app's settings, read through `social_settings()` (see core.conf)."""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.conf import settings_accessor
from core.cookies import is_loopback_host

KAKAO = "kakao"
NAVER = "naver"
GOOGLE = "google"
APPLE = "apple"
# Google's id_tokens may name their issuer without the scheme (Google's OpenID Connect docs).
GOOGLE_BARE_ISSUER = "accounts.google.com"

_BUILT_IN = (KAKAO, NAVER, GOOGLE, APPLE)
_PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_OIDC_FIELDS = frozenset(
    {"display_name", "client_id", "client_secret", "discovery_url", "scopes", "client_ids", "trust_email"}
)
_OIDC_TEXT_FIELDS = ("display_name", "client_id", "client_secret", "discovery_url")


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
    # Kakao Login's OpenID Connect: the apps' keys accepted as an id_token's audience at /token.
    client_ids: tuple[str, ...] = ()
    discovery_url: str = ""
    # The Admin key: unlinking users at Kakao, and checking Kakao's unlink callback.
    admin_key: str = ""
    unlink_url: str = ""

    @property
    def native(self) -> tuple[str, ...]:
        return ("access_token",) * bool(self.app_id) + ("id_token",) * bool(self.client_ids)


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


@dataclass(frozen=True)
class AppleConfig(OIDCConfig):
    """Sign in with Apple: OpenID Connect whose client secret is a JWT we sign (ES256)."""

    team_id: str = ""
    key_id: str = ""
    # The .p8 key's PEM; never in a repr, a log line or an error.
    private_key: str = field(default="", repr=False)
    # The backend URL Apple posts the code to (response_mode=form_post), registered at Apple.
    form_post_uri: str = ""


@dataclass(frozen=True)
class NaverConfig:
    name: str
    display_name: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    userinfo_url: str
    # Naver reports no verification of the address: believed only when configured so.
    trust_email: bool = False
    scopes: tuple[str, ...] = ()
    # No Naver API says which app a token was issued to, so Naver is web-only (docs/mobile.md).
    native: tuple[str, ...] = ()


ProviderConfig = KakaoConfig | NaverConfig | OIDCConfig


@dataclass(frozen=True)
class IncompleteProvider:
    """A provider given a client id but not everything else it needs: not offered (social.W001)."""

    name: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class SocialSettings:
    # Only the providers with a client id and complete settings, in the order the frontend shows them.
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
        client_ids=tuple(settings.SOCIAL_KAKAO_CLIENT_IDS),
        discovery_url=_endpoint("SOCIAL_KAKAO_DISCOVERY_URL", settings.SOCIAL_KAKAO_DISCOVERY_URL),
        admin_key=settings.SOCIAL_KAKAO_ADMIN_KEY,
        unlink_url=_endpoint("SOCIAL_KAKAO_UNLINK_URL", settings.SOCIAL_KAKAO_UNLINK_URL),
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


def _configured_oidc(name: str, entry: Any) -> OIDCConfig:
    # Named after the variable an operator sets: settings.SOCIAL_OIDC_PROVIDERS is its parsed value.
    setting = f"SOCIAL_OIDC_PROVIDERS_JSON[{name!r}]"
    if not isinstance(entry, dict):
        raise ImproperlyConfigured(f"{setting} must be a JSON object of {sorted(_OIDC_FIELDS)}.")
    if not _PROVIDER_NAME.match(name) or name in _BUILT_IN:
        raise ImproperlyConfigured(f"{setting}: the name must be a lower-case slug other than {', '.join(_BUILT_IN)}.")
    unknown = set(entry) - _OIDC_FIELDS
    if unknown:
        raise ImproperlyConfigured(f"{setting}: unknown fields {sorted(unknown)}; allowed: {sorted(_OIDC_FIELDS)}.")
    if not entry.get("discovery_url"):
        raise ImproperlyConfigured(f"{setting}: `discovery_url` is required.")
    text_fields = {key: entry[key] for key in _OIDC_TEXT_FIELDS if key in entry}
    if not all(isinstance(value, str) for value in text_fields.values()):
        raise ImproperlyConfigured(f"{setting}: {sorted(text_fields)} must be strings.")
    return OIDCConfig(
        name=name,
        display_name=entry.get("display_name") or name,
        client_id=entry.get("client_id", ""),
        client_secret=entry.get("client_secret", ""),
        scopes=_string_list(f"{setting}['scopes']", entry.get("scopes", [])) or ("openid", "email", "profile"),
        discovery_url=_endpoint(f"{setting}['discovery_url']", entry["discovery_url"]),
        client_ids=_string_list(f"{setting}['client_ids']", entry.get("client_ids", [])),
        trust_email=entry.get("trust_email", False) is True,
    )


def _string_list(setting: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ImproperlyConfigured(f"{setting} must be a list of non-empty strings.")
    return tuple(value)


def _naver() -> NaverConfig:
    return NaverConfig(
        name=NAVER,
        display_name="Naver",
        client_id=settings.SOCIAL_NAVER_CLIENT_ID,
        client_secret=settings.SOCIAL_NAVER_CLIENT_SECRET,
        authorize_url=_endpoint("SOCIAL_NAVER_AUTHORIZE_URL", settings.SOCIAL_NAVER_AUTHORIZE_URL),
        token_url=_endpoint("SOCIAL_NAVER_TOKEN_URL", settings.SOCIAL_NAVER_TOKEN_URL),
        userinfo_url=_endpoint("SOCIAL_NAVER_USERINFO_URL", settings.SOCIAL_NAVER_USERINFO_URL),
        trust_email=settings.SOCIAL_NAVER_TRUST_EMAIL,
    )


def _apple_private_key() -> str:
    """The .p8 key: SOCIAL_APPLE_PRIVATE_KEY, or the file SOCIAL_APPLE_PRIVATE_KEY_FILE names."""
    if settings.SOCIAL_APPLE_PRIVATE_KEY:
        return settings.SOCIAL_APPLE_PRIVATE_KEY
    if not settings.SOCIAL_APPLE_PRIVATE_KEY_FILE:
        return ""
    try:
        return Path(settings.SOCIAL_APPLE_PRIVATE_KEY_FILE).read_text()
    except OSError as exc:
        raise ImproperlyConfigured(f"SOCIAL_APPLE_PRIVATE_KEY_FILE cannot be read ({exc.strerror}).") from None


def _apple() -> AppleConfig:
    return AppleConfig(
        name=APPLE,
        display_name="Apple",
        client_id=settings.SOCIAL_APPLE_CLIENT_ID,
        client_secret="",  # signed per use: social.providers.AppleProvider
        scopes=tuple(settings.SOCIAL_APPLE_SCOPES),
        discovery_url=_endpoint("SOCIAL_APPLE_DISCOVERY_URL", settings.SOCIAL_APPLE_DISCOVERY_URL),
        client_ids=tuple(settings.SOCIAL_APPLE_CLIENT_IDS),
        trust_email=True,
        team_id=settings.SOCIAL_APPLE_TEAM_ID,
        key_id=settings.SOCIAL_APPLE_KEY_ID,
        private_key=_apple_private_key(),
        form_post_uri=settings.SOCIAL_APPLE_FORM_POST_URI
        and _endpoint("SOCIAL_APPLE_FORM_POST_URI", settings.SOCIAL_APPLE_FORM_POST_URI),
    )


def _missing(config: ProviderConfig) -> tuple[str, ...]:
    """The settings a provider with a client id still lacks."""
    if isinstance(config, NaverConfig):
        required = {"SOCIAL_NAVER_CLIENT_SECRET": config.client_secret}
    elif isinstance(config, AppleConfig):
        required = {
            "SOCIAL_APPLE_TEAM_ID": config.team_id,
            "SOCIAL_APPLE_KEY_ID": config.key_id,
            "SOCIAL_APPLE_PRIVATE_KEY or SOCIAL_APPLE_PRIVATE_KEY_FILE": config.private_key,
            "SOCIAL_APPLE_FORM_POST_URI": config.form_post_uri,
        }
    else:
        return ()
    return tuple(setting for setting, value in required.items() if not value)


def _candidates() -> list[ProviderConfig]:
    candidates: list[ProviderConfig] = [_kakao(), _naver(), _google(), _apple()]
    if not isinstance(settings.SOCIAL_OIDC_PROVIDERS, dict):
        raise ImproperlyConfigured('SOCIAL_OIDC_PROVIDERS_JSON must be a JSON object: {"<name>": {...}, ...}.')
    candidates += [_configured_oidc(name, entry) for name, entry in settings.SOCIAL_OIDC_PROVIDERS.items()]
    return [config for config in candidates if config.client_id]


def incomplete_providers() -> list[IncompleteProvider]:
    """Providers given a client id that lack another setting they need (social.checks)."""
    return [
        IncompleteProvider(name=config.name, missing=missing)
        for config in _candidates()
        if (missing := _missing(config))
    ]


@settings_accessor
def social_settings() -> SocialSettings:
    return SocialSettings(
        providers={config.name: config for config in _candidates() if not _missing(config)},
        redirect_uris=frozenset(settings.SOCIAL_REDIRECT_URIS),
        http_timeout=(settings.SOCIAL_HTTP_CONNECT_TIMEOUT, settings.SOCIAL_HTTP_READ_TIMEOUT),
        callback_deadline=settings.SOCIAL_CALLBACK_DEADLINE,
        callback_concurrency=settings.SOCIAL_CALLBACK_CONCURRENCY,
        pending_login_ttl=settings.SOCIAL_PENDING_LOGIN_TTL,
        link_by_verified_email=settings.SOCIAL_LINK_BY_VERIFIED_EMAIL,
        require_email=settings.SOCIAL_REQUIRE_EMAIL,
        bind_to_browser=settings.SOCIAL_BIND_TO_BROWSER,
    )
