"""Sign in with Google: OpenID Connect, with Google's rule for which addresses are authoritative."""

from social.providers.google.mapping import google_identity
from social.providers.google.settings import GoogleSettings
from social.providers.oidc import OpenIDConnectProvider


class GoogleProvider(OpenIDConnectProvider):
    settings_class = GoogleSettings
    config: GoogleSettings
    map_claims = staticmethod(google_identity)
