"""Why a token or a session was refused. Every one is a 401 with an RFC 6750 challenge."""

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, Problem, ServiceUnavailable, Text


class TokenError(Problem):
    status = 401
    code = "token_invalid"
    title = _("The token is not valid")
    # RFC 6750 §3.1 error code for the WWW-Authenticate challenge.
    bearer_error = "invalid_token"

    def headers(self) -> dict[str, str]:
        # The title is fixed text, so it is safe inside the quoted-string; in English whatever the request's
        # language, since RFC 6750 §3 allows only printable ASCII there.
        with translation.override(None):
            description = str(self.title)
        return {
            "WWW-Authenticate": f'Bearer realm="api", error="{self.bearer_error}", error_description="{description}"'
        }


class NotAuthenticated(TokenError):
    code = "not_authenticated"
    title = _("Authentication required")
    bearer_error = "invalid_request"


class TokenInvalid(TokenError):
    pass


class TokenExpired(TokenError):
    code = "token_expired"
    title = _("The token has expired")


class TokenRevoked(TokenError):
    code = "token_revoked"
    title = _("The session of this token has ended")


class TokenReused(TokenError):
    code = "token_reused"
    title = _("The refresh token was already used")


class SessionNotFound(NotFound):
    code = "session_not_found"
    title = _("No such session")


class CursorInvalid(Problem):
    """A session list's `cursor` that this API did not make for this user, or that was altered."""

    code = "cursor_invalid"
    title = _("The cursor is not valid")


class CsrfFailed(Problem):
    """A request the refresh cookie would authenticate lacks the proof that the API's own frontend sent it."""

    status = 403
    code = "csrf_failed"
    title = _("The request failed the cross-site request forgery check")


class SigningKeyMissing(ServiceUnavailable):
    """This deployment only verifies (JWT_VERIFYING_KEY alone), or has no key yet (tokens.checks)."""

    code = "signing_key_missing"
    title = _("This server has no key to sign tokens with")


class OAuthProblem(Problem):
    """An error of an RFC 6749-family endpoint (introspection, revocation): problem+json as every
    error here, with RFC 6749 §5.2's `error` member too, for OAuth client libraries."""

    oauth_error = "invalid_request"

    def __init__(self, detail: Text | None = None) -> None:
        super().__init__(detail, error=self.oauth_error)


class OAuthInvalidRequest(OAuthProblem):
    code = "invalid_request"
    title = _("The request lacks a required parameter")


class IntrospectionClientInvalid(OAuthProblem):
    """RFC 7662 §2.1: the caller (a resource server) failed HTTP Basic authentication."""

    status = 401
    code = "introspection_client_invalid"
    title = _("Introspection needs the credentials of a resource server")
    oauth_error = "invalid_client"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="introspection", charset="UTF-8"'}
