"""Why a social login was refused. core.problems renders each as problem+json."""

from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, Problem, ServiceUnavailable
from core.events import AuthEvent
from core.outages import RETRY_AFTER_SECONDS


class ProviderUnknown(NotFound):
    code = "provider_unknown"
    title = _("No such sign-in provider")


class RedirectUriNotAllowed(Problem):
    code = "redirect_uri_not_allowed"
    title = _("The redirect_uri is not one of SOCIAL_REDIRECT_URIS")
    event = AuthEvent.SIGN_IN


class StateInvalid(Problem):
    code = "state_invalid"
    title = _("The state is unknown, expired, already used or for another provider")
    event = AuthEvent.SIGN_IN


class CodeInvalid(Problem):
    """The provider refused the code (`invalid_grant`); `provider_error` carries its own code."""

    code = "code_invalid"
    title = _("The provider refused the authorization code")
    event = AuthEvent.SIGN_IN


class IdTokenInvalid(Problem):
    code = "id_token_invalid"
    title = _("The provider's id_token did not verify")
    event = AuthEvent.SIGN_IN


class EmailRequired(Problem):
    code = "email_required"
    title = _("The provider gave no verified email, and one is required")
    event = AuthEvent.SIGN_IN


class ProviderUnavailable(Problem):
    status = 502
    code = "provider_unavailable"
    title = _("The sign-in provider could not be used")
    event = AuthEvent.PROVIDER_FAILURE


class ProviderTimeout(Problem):
    status = 504
    code = "provider_timeout"
    title = _("The sign-in provider did not answer in time")
    event = AuthEvent.PROVIDER_FAILURE


class NativeTokenUnsupported(Problem):
    code = "native_token_unsupported"
    title = _("This provider does not take this kind of token at /token (see `native` in /providers)")
    event = AuthEvent.SIGN_IN


class TokenAudienceInvalid(Problem):
    code = "token_audience_invalid"
    title = _("The provider issued this token to another app")
    event = AuthEvent.SIGN_IN


class ProviderTokenInvalid(Problem):
    code = "provider_token_invalid"
    title = _("The provider does not know this token, or it has expired")
    event = AuthEvent.SIGN_IN


class ProviderBusy(ServiceUnavailable):
    """The process already runs SOCIAL_CALLBACK_CONCURRENCY callbacks (social.outbound)."""

    code = "provider_busy"
    title = _("Too many sign-ins are waiting on their provider")
    event = AuthEvent.PROVIDER_FAILURE

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


class IdentityInUse(Problem):
    status = 409
    code = "identity_in_use"
    title = _("This identity is linked to another user")
    event = AuthEvent.SIGN_IN


class LoginConflict(Problem):
    """Two sign-ins wrote the same user at once, twice in a row; the next attempt will pass."""

    status = 409
    code = "login_conflict"
    title = _("A concurrent sign-in changed the same account; try again")
    event = AuthEvent.SIGN_IN


class KakaoAppMismatch(Problem):
    code = "kakao_app_mismatch"
    title = _("Kakao's callback names another app")


class NonceRequired(Problem):
    """/token got an id_token without a nonce from a provider whose SDKs take one (its REQUIRE_NONCE setting)."""

    code = "nonce_required"
    title = _("This provider's id_tokens are accepted with the nonce of their request only")
    event = AuthEvent.SIGN_IN
