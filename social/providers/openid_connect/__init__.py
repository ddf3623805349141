"""The OpenID Connect providers configured by SOCIAL_OIDC_PROVIDERS_JSON, and their test fixtures."""
