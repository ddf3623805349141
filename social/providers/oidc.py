"""OpenID Connect: the id_token (decoding apart from the claim rules), discovery, and the provider
class that Google, Apple, Kakao's id_tokens and every configured provider build on."""

import functools
import hashlib
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any, cast

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from social.errors import IdTokenInvalid, NonceRequired, ProviderUnavailable
from social.providers.base import (
    Endpoint,
    Identity,
    Provider,
    ProviderSettings,
    answer_email,
    answer_https_url,
    answer_subject,
    answer_text,
    is_allowed_endpoint,
)

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


class OIDCSettings(ProviderSettings):
    discovery_url: Endpoint
    # Issuers accepted in id_tokens besides the discovery document's `issuer`.
    extra_issuers: tuple[str, ...] = ()
    # The native apps' client IDs (iOS, Android...), accepted as an id_token's audience at
    # /token besides `client_id`; the redirect flow accepts `client_id` only.
    client_ids: tuple[str, ...] = ()
    # Whether /token refuses an id_token sent without the nonce its request carried: on for
    # providers whose SDKs all take one, so that a token lifted from elsewhere cannot be replayed.
    require_nonce: bool = False

    @property
    def native(self) -> tuple[str, ...]:
        return ("id_token",)


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


def id_token_decode(id_token: str, *, key_set: Callable[..., KeySet], algorithms: Iterable[str]) -> dict[str, Any]:
    """The claims of an id_token signed by one of the provider's keys; no claim is checked here.

    `key_set(refresh=True)` must fetch the keys afresh: an unknown `kid` means the provider
    may have rotated its keys since they were cached, so they are fetched once more.
    """
    allowed = sorted(ID_TOKEN_ALGORITHMS.intersection(algorithms))
    if not allowed:
        # joserfc would fall back to its own default list when given an empty one.
        raise IdTokenInvalid(_("The provider signs id_tokens with no algorithm accepted here."))
    try:
        try:
            token = jwt.decode(id_token, key_set(refresh=False), algorithms=allowed)
        except InvalidKeyIdError:
            token = jwt.decode(id_token, key_set(refresh=True), algorithms=allowed)
    except (JoseError, ValueError) as exc:
        raise IdTokenInvalid(_("The id_token did not verify: %(error)s") % {"error": str(exc)}) from None
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
        raise IdTokenInvalid(_("The id_token carries a nonce, and the request none."))
    try:
        jwt.JWTClaimsRegistry(leeway=ID_TOKEN_LEEWAY, **rules).validate(claims)
    except (JoseError, ValueError) as exc:
        raise IdTokenInvalid(_("The id_token did not verify: %(error)s") % {"error": str(exc)}) from None
    # With several audiences, `azp` must name one of this provider's clients.
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") not in allowed_clients:
        raise IdTokenInvalid(_("The id_token was issued to another client (azp)."))


class OpenIDConnectProvider(Provider):
    """A provider with a discovery document: endpoints and keys come from it."""

    config: OIDCSettings
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
        if nonce is None and self.config.require_nonce:
            raise NonceRequired(
                _("%(provider)s's SDKs take a nonce: send the one given to the SDK with its id_token.")
                % {"provider": self.config.display_name}
            )
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
            raise IdTokenInvalid(_("This id_token was already used."))

    def id_token_verify(self, id_token: Any, *, nonces: Collection[str], client_ids: Iterable[str]) -> dict[str, Any]:
        """The claims of an id_token this provider signed for one of `client_ids`, with one of `nonces`."""
        if not isinstance(id_token, str) or not id_token:
            raise IdTokenInvalid(
                _("%(provider)s's token response has no id_token.") % {"provider": self.config.display_name}
            )
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
            raise ProviderUnavailable(
                _("%(provider)s's discovery document has no issuer.") % {"provider": self.config.display_name}
            )
        if not all(isinstance(metadata.get(key), str) and is_allowed_endpoint(metadata[key]) for key in endpoints):
            raise ProviderUnavailable(
                _("%(provider)s's discovery document lacks an https endpoint.") % {"provider": self.config.display_name}
            )

    def _userinfo(self, token: dict[str, Any], *, subject: str) -> dict[str, Any]:
        endpoint = self.metadata["userinfo_endpoint"]
        if not isinstance(endpoint, str) or not is_allowed_endpoint(endpoint):
            raise ProviderUnavailable(
                _("%(provider)s's userinfo_endpoint is not https.") % {"provider": self.config.display_name}
            )
        userinfo = self._get_json(endpoint, token=token)
        # OpenID Connect Core 5.3.2: a UserInfo response about another subject must not be used.
        if userinfo.get("sub") != subject:
            raise ProviderUnavailable(
                _("%(provider)s's UserInfo is about another subject.") % {"provider": self.config.display_name}
            )
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
        document: dict[str, Any] | None = None if refresh else cache.get(key)
        if document is not None:
            return document
        # The pause's end is checked as well as the cache's own expiry, which Redis applies by its own clock.
        retry_at = cache.get(f"{key}:bad")
        if retry_at is not None and retry_at > time.time():
            raise ProviderUnavailable(
                _("%(provider)s gave a bad answer moments ago; try again shortly.")
                % {"provider": self.config.display_name}
            )
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
            raise ProviderUnavailable(
                _("%(provider)s's JWKS is not a valid key set.") % {"provider": self.config.display_name}
            ) from None
