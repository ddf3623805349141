"""The OAuth 2.0 / OpenID Connect machinery of the development identity provider.

Authlib does the protocol: the authorization code grant (RFC 6749), PKCE (RFC 7636) and
the OpenID Connect id_token (signed with joserfc). This module only supplies what Authlib
leaves to the server: the one static client, where codes are kept, the signing key and
the user's claims.

Authorization codes live in Django's cache, not in models: they are single-use and expire
within minutes, a development tool needs no migrations, and the cache is the one the
project already shares between processes (LocMem under runserver, Redis when REDIS_URL
is set).
"""

import functools
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.django_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, OAuth2Request, scope_to_list
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from django.core.cache import cache
from joserfc.jwk import KeySet, KeySetSerialization, RSAKey

from devidp.conf import DevIdpSettings, dev_idp_settings

SIGNING_ALGORITHM = "RS256"
SUPPORTED_SCOPES = ("openid", "email", "profile")
CODE_TTL = 5 * 60
_CODE_KEY = "devidp:code:{}"
_NONCE_KEY = "devidp:nonce:{}"
_SIGNING_KEY = "devidp:signing-key"


@dataclass(frozen=True)
class DevUser:
    """Whoever the person at the authorize page says they are."""

    email: str
    name: str
    email_verified: bool

    @property
    def subject(self) -> str:
        # Stable per email, so signing in twice is the same identity at the social app.
        return hashlib.sha256(self.email.casefold().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class DevAuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    auth_time: int
    code_challenge: str | None
    code_challenge_method: str | None
    user: DevUser

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


class DevClient(ClientMixin):
    """One of the two clients settings describe: the social app (confidential) or a mobile app (public)."""

    def __init__(self, conf: DevIdpSettings, *, native: bool = False) -> None:
        self.conf = conf
        self.native = native

    def get_client_id(self) -> str:
        return self.conf.native_client_id if self.native else self.conf.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # Requests must name their redirect_uri.

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope_to_list(scope or "") if s in SUPPORTED_SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.conf.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.native:
            return False  # A mobile app can keep no secret.
        return hmac.compare_digest(client_secret.encode(), self.conf.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        allowed = ("none",) if self.native else ("client_secret_basic", "client_secret_post")
        return endpoint == "token" and method in allowed

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


def signing_key() -> RSAKey:
    """One key for every worker process and thread, kept in the shared cache.

    A key per process would sign an id_token in one worker and publish another in the JWKS
    that the social app may fetch from the next worker; two threads starting at once would
    each generate one. The first to find none generates it, the cache keeps whichever was
    added first, and everyone uses that one.
    """
    stored = cache.get(_SIGNING_KEY)
    if stored is None:
        generated = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": SIGNING_ALGORITHM}, auto_kid=True)
        cache.add(_SIGNING_KEY, json.dumps(generated.as_dict(private=True)), timeout=None)
        stored = cache.get(_SIGNING_KEY)
    return _imported_key(stored)


@functools.lru_cache(maxsize=2)
def _imported_key(serialized: str) -> RSAKey:
    return RSAKey.import_key(json.loads(serialized))


def jwks() -> KeySetSerialization:
    return KeySet([signing_key()]).as_dict(private=False)


def _user_claims(user: DevUser, scope: str) -> UserInfo:
    scopes = scope_to_list(scope)
    claims = UserInfo(sub=user.subject)
    if "email" in scopes:
        claims.update(email=user.email, email_verified=user.email_verified)
    if "profile" in scopes:
        claims["name"] = user.name
    return claims


class DevCodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> DevAuthorizationCode:
        payload = request.payload
        item = DevAuthorizationCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=payload.redirect_uri,
            scope=request.scope,
            nonce=payload.data.get("nonce"),
            auth_time=int(time.time()),
            code_challenge=payload.data.get("code_challenge"),
            code_challenge_method=payload.data.get("code_challenge_method"),
            user=request.user,
        )
        cache.set(_CODE_KEY.format(code), item, CODE_TTL)
        if item.nonce:
            cache.set(_NONCE_KEY.format(item.nonce), True, CODE_TTL)
        return item

    def query_authorization_code(self, code: str, client: DevClient) -> DevAuthorizationCode | None:
        item: DevAuthorizationCode | None = cache.get(_CODE_KEY.format(code))
        if item is None or item.client_id != client.get_client_id():
            return None
        return item

    def delete_authorization_code(self, authorization_code: DevAuthorizationCode) -> None:
        cache.delete(_CODE_KEY.format(authorization_code.code))

    def authenticate_user(self, authorization_code: DevAuthorizationCode) -> DevUser:
        return authorization_code.user


class S256Required(CodeChallenge):
    """PKCE on every request, S256 only: what the social app must do for real providers too."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: AuthorizationCodeGrant, redirect_uri: str) -> None:
        if not grant.request.payload.data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': this provider requires PKCE (S256).")
        super().validate_code_challenge(grant, redirect_uri)


class DevOpenIDCode(OpenIDCode):
    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        # A nonce already bound to an issued code is a replay.
        return cache.get(_NONCE_KEY.format(nonce)) is not None

    def resolve_client_private_key(self, client: DevClient) -> RSAKey:
        return signing_key()

    def get_client_algorithm(self, client: DevClient) -> str:
        return SIGNING_ALGORITHM

    def get_encode_header(self, client: DevClient) -> dict[str, str | None]:
        return {"alg": SIGNING_ALGORITHM, "kid": signing_key().kid}

    def get_client_claims(self, client: DevClient) -> dict[str, str]:
        return {"iss": client.conf.issuer, "aud": client.get_client_id()}

    def generate_user_info(self, user: DevUser, scope: str) -> UserInfo:
        return _user_claims(user, scope)


class DevAuthorizationServer(AuthorizationServer):
    def __init__(self) -> None:
        # No client or token models: the client comes from settings, tokens are not kept.
        super().__init__(client_model=None, token_model=None)
        self.scopes_supported = list(SUPPORTED_SCOPES)
        self.register_grant(DevCodeGrant, [S256Required(), DevOpenIDCode(require_nonce=True)])

    def query_client(self, client_id: str) -> DevClient | None:
        conf = dev_idp_settings()
        if client_id == conf.client_id:
            return DevClient(conf)
        if client_id == conf.native_client_id:
            return DevClient(conf, native=True)
        return None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """The access token is opaque and unused: the social app reads the id_token."""


server = DevAuthorizationServer()


def discovery_document(conf: DevIdpSettings) -> dict[str, Any]:
    return {
        "issuer": conf.issuer,
        "authorization_endpoint": f"{conf.issuer}/authorize",
        "token_endpoint": f"{conf.issuer}/token",
        "jwks_uri": f"{conf.issuer}/jwks",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
        "scopes_supported": list(SUPPORTED_SCOPES),
        "token_endpoint_auth_methods_supported": DevCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS,
        "code_challenge_methods_supported": S256Required.SUPPORTED_CODE_CHALLENGE_METHOD,
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "email",
            "email_verified",
            "name",
        ],
    }
