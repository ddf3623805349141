"""How the social app finds the development identity provider.

Plain data with no Django import, so that config/settings.py can build the `dev` entry of
SOCIAL_OIDC_PROVIDERS from it, and tests can build the same entry for a live server.
"""

from typing import Any

# Where config/urls.py mounts the provider; its issuer is the server's base URL plus this.
MOUNT_PATH = "/dev-idp"
# The built-in providers (social/providers/registry.py; tests/unit/test_dev_server_defaults.py keeps the
# two in step), whose sign-in page callbacks `make run` registers along with this provider's.
BUILT_IN_PROVIDERS = ("kakao", "naver", "google", "apple")


def dev_redirect_uris(base_url: str) -> list[str]:
    """The debug default of SOCIAL_REDIRECT_URIS: the sign-in page's (web/) callback of every provider."""
    return [f"{base_url.rstrip('/')}/auth/callback/{name}" for name in (*BUILT_IN_PROVIDERS, "dev")]


def social_provider_entry(
    *, base_url: str, client_id: str, client_secret: str, native_client_id: str
) -> dict[str, Any]:
    """The SOCIAL_OIDC_PROVIDERS entry for the provider served at `base_url`."""
    return {
        "display_name": "Dev",
        "client_id": client_id,
        "client_secret": client_secret,
        "discovery_url": f"{base_url.rstrip('/')}{MOUNT_PATH}/.well-known/openid-configuration",
        "scopes": ["openid", "email", "profile"],
        # Its mobile-app client: id_tokens minted for it are accepted at /token.
        "client_ids": [native_client_id],
        # It stands for Google or Apple in development, so that linking by email can be tried;
        # its authorize page lets anyone claim any address, which is why it is DEBUG-only.
        "trust_email": True,
    }
