"""RFC 7009 token revocation, for the public clients (the page, mobile apps).

Revoking either token of a pair ends its session, as logout does: a session is one sign-in,
and a refresh token outliving its access token (or the reverse) would be a half sign-out.
The client proves nothing but possession of the token, as RFC 7009 §2.1 allows for public
clients; in cookie mode a request carrying the refresh cookie passes the same CSRF check as
logout (tokens.transport). Whatever cannot be revoked (unknown, malformed, expired, already
revoked) is answered 200 all the same (§2.2): the client's aim, a token that no longer
works, holds, and the answer tells a guesser nothing.
"""

from tokens import backend, services
from tokens.backend import TokenType
from tokens.errors import SessionNotFound, TokenError

# `token_type_hint` is read and ignored: the token's `typ` header says what it is (RFC 7009 §2.1 lets a server).


def token_revoke(*, token: str) -> None:
    """Ends the session of a valid access or refresh token; does nothing for any other."""
    try:
        match backend.peek_token_type(token):
            case TokenType.REFRESH:
                services.session_end_by_refresh(refresh=token)
            case TokenType.ACCESS:
                principal = services.access_token_authenticate(token=token, check_denylist=False)
                services.session_end(session_id=principal.session_id, user_id=principal.user_id)
    except (TokenError, SessionNotFound):
        pass  # §2.2: an invalid token is not an error
