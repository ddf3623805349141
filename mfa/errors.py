"""Why a second-factor request was refused. core.problems renders each as problem+json."""

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from core.cookies import cookie_set
from core.errors import NotFound, Problem, Text

# The browser binding of an mfa_token in cookie mode (mfa.services.sign_in): Strict, the second
# step is the page's own request.
BINDING_COOKIE = "mfa_binding"


class SecondStepRequired(Problem):
    """A sign-in that needs a second step: the body carries `mfa_token` and `methods`, no token pair."""

    status = 403

    def __init__(
        self, detail: Text | None = None, *, mfa_token: str, methods: list[str], binding: str | None, ttl: int
    ):
        super().__init__(detail, mfa_token=mfa_token, methods=methods)
        self.binding = binding
        self.ttl = ttl

    def finish_response(self, request: HttpRequest, response: HttpResponse) -> None:
        if self.binding is not None:
            cookie_set(response, request, name=BINDING_COOKIE, value=self.binding, max_age=self.ttl, samesite="Strict")


class MfaRequired(SecondStepRequired):
    code = "mfa_required"
    title = _("Prove a second factor to finish signing in")


class MfaEnrollmentRequired(SecondStepRequired):
    code = "mfa_enrollment_required"
    title = _("Set up a second factor to finish signing in")


class MfaTokenInvalid(Problem):
    """Unknown, expired, used, failed too often, or presented without its browser: one answer for all."""

    status = 401
    code = "mfa_token_invalid"
    title = _("The mfa_token is invalid, expired or used up; sign in again")


class MfaCodeInvalid(Problem):
    status = 403
    code = "mfa_code_invalid"
    title = _("The code is wrong, already used, or of another time")


class MfaMethodUnavailable(Problem):
    """A method the user has not set up (or that this step does not take)."""

    status = 400
    code = "mfa_method_unavailable"
    title = _("This method is not available for this user")


class TotpAlreadyEnabled(Problem):
    status = 409
    code = "totp_already_enabled"
    title = _("TOTP is already set up; remove it first")


class TotpNotPending(NotFound):
    code = "totp_not_pending"
    title = _("No TOTP set-up is waiting for its first code")


class TotpNotEnabled(NotFound):
    code = "totp_not_enabled"
    title = _("TOTP is not set up")


class FactorRequired(Problem):
    status = 409
    code = "mfa_factor_required"
    title = _("This account must keep a second factor")


class NoSecondFactor(Problem):
    status = 409
    code = "mfa_not_enabled"
    title = _("Set up a second factor first")
