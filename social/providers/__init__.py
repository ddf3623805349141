"""Sign-in providers, one package each, and the shared bases they build on.

    base.py       Identity, the answer_* checks mappings use, ProviderSettings, and Provider:
                  the HTTP seam (Authlib's OAuth2Session, errors mapped to social.errors)
    oauth2.py     OAuth2Provider: a plain OAuth 2.0 provider with fixed endpoints
    oidc.py       OpenID Connect: id_token decoding and claim rules, discovery, OpenIDConnectProvider
    registry.py   the one list of providers, and provider_get
    <name>/       one provider: settings.py (its settings, validated by a pydantic model), provider.py
                  (its protocol class), mapping.py (pure functions from its answers to an Identity),
                  anything else it needs (Kakao's webhooks, Apple's client secret), fixtures.py (its
                  answers as it documents them, for the tests)

Only this package imports Authlib and joserfc. docs/providers.md walks through adding one.
"""
