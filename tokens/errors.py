"""Why a token or a session was refused. Every one is a 401 with an RFC 6750 challenge."""

from core.errors import NotFound, Problem, ServiceUnavailable


class TokenError(Problem):
    status = 401
    code = "token_invalid"
    title = "The token is not valid"
    # RFC 6750 §3.1 error code for the WWW-Authenticate challenge.
    bearer_error = "invalid_token"

    def headers(self) -> dict[str, str]:
        # The title is fixed text, so it is safe inside the quoted-string.
        return {
            "WWW-Authenticate": f'Bearer realm="api", error="{self.bearer_error}", error_description="{self.title}"'
        }


class NotAuthenticated(TokenError):
    code = "not_authenticated"
    title = "Authentication required"
    bearer_error = "invalid_request"


class TokenInvalid(TokenError):
    pass


class TokenExpired(TokenError):
    code = "token_expired"
    title = "The token has expired"


class TokenRevoked(TokenError):
    code = "token_revoked"
    title = "The session of this token has ended"


class TokenReused(TokenError):
    code = "token_reused"
    title = "The refresh token was already used"


class SessionNotFound(NotFound):
    code = "session_not_found"
    title = "No such session"


class CursorInvalid(Problem):
    """A session list's `cursor` that this API did not make for this user, or that was altered."""

    code = "cursor_invalid"
    title = "The cursor is not valid"


class CsrfFailed(Problem):
    """A request the refresh cookie would authenticate lacks the proof that the API's own frontend sent it."""

    status = 403
    code = "csrf_failed"
    title = "The request failed the cross-site request forgery check"


class SigningKeyMissing(ServiceUnavailable):
    """This deployment only verifies (JWT_VERIFYING_KEY alone), or has no key yet (tokens.checks)."""

    code = "signing_key_missing"
    title = "This server has no key to sign tokens with"
