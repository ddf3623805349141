"""Why a WebAuthn ceremony was refused. core.problems renders each as problem+json with its code.

Each refusal has its own code so that a client (and an operator reading the auth events) can
tell a misconfigured origin from a cloned authenticator; none says more than the code needs.
"""

from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, Problem


class WebAuthnDisabled(NotFound):
    code = "webauthn_disabled"
    title = _("WebAuthn is turned off (AUTH_WEBAUTHN=0)")


class WebAuthnProblem(Problem):
    status = 400
    code = "webauthn_invalid"
    title = _("The WebAuthn response is not valid")


class CredentialMalformed(WebAuthnProblem):
    code = "webauthn_credential_malformed"
    title = _("The credential is not a WebAuthn response this API can read")


class ChallengeInvalid(WebAuthnProblem):
    """Unknown, expired, already used, another user's, or for the other ceremony: one answer for all."""

    code = "webauthn_challenge_invalid"
    title = _("The challenge is unknown, expired or already used")


class OriginMismatch(WebAuthnProblem):
    code = "webauthn_origin_mismatch"
    title = _("The ceremony ran on an origin this API does not accept")


class RpIdMismatch(WebAuthnProblem):
    code = "webauthn_rp_id_mismatch"
    title = _("The authenticator signed for another relying party")


class UserVerificationRequired(WebAuthnProblem):
    code = "webauthn_user_verification_required"
    title = _("The authenticator did not verify the user (PIN or biometrics)")


class CredentialExists(Problem):
    status = 409
    code = "webauthn_credential_exists"
    title = _("This authenticator is already registered")


class CredentialUnknown(Problem):
    """No such credential, or another user's: the same answer."""

    status = 401
    code = "webauthn_credential_unknown"
    title = _("The credential is not registered here")


class SignatureInvalid(Problem):
    status = 401
    code = "webauthn_signature_invalid"
    title = _("The assertion's signature does not verify")


class CounterRegression(Problem):
    """The authenticator's sign counter did not move forward: a sign the credential may have been cloned."""

    status = 401
    code = "webauthn_counter_regression"
    title = _("The authenticator's signature counter went backwards")

    def __init__(self, *, user_id: int) -> None:
        super().__init__()
        # For the auth event: whose credential it was (never in the response).
        self.user_id = user_id


class WebAuthnCredentialNotFound(NotFound):
    code = "webauthn_credential_not_found"
    title = _("No such WebAuthn credential")
