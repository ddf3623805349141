"""Why an account request was refused. core.problems renders each as problem+json."""

from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, Problem
from core.events import AuthEvent


class PasswordLoginDisabled(NotFound):
    code = "password_login_disabled"
    title = _("Email and password sign-in is turned off (AUTH_PASSWORD_LOGIN=0)")


class CredentialsInvalid(Problem):
    """Unknown email and wrong password alike, so that the answer tells nobody which it was."""

    status = 401
    code = "credentials_invalid"
    title = _("The email or the password is wrong")
    event = AuthEvent.SIGN_IN


class EmailUnverified(Problem):
    status = 403
    code = "email_unverified"
    title = _("The email address has not been verified yet")
    event = AuthEvent.SIGN_IN


class PasswordInvalid(Problem):
    """The password validators' messages are in `errors`."""

    status = 422
    code = "password_invalid"
    title = _("The password does not meet the password rules")


class PasswordIncorrect(Problem):
    status = 403
    code = "password_incorrect"
    title = _("The current password is wrong")


class PasswordRequired(Problem):
    """An emailed verification link alone proves the inbox, not who registered: the page asks for the password."""

    status = 403
    code = "password_required"
    title = _("Give the account's password to confirm the address")


class LinkInvalid(Problem):
    code = "link_invalid"
    title = _("The link is invalid, expired or already used")
    event = AuthEvent.SIGN_IN


class ReauthenticationRequired(Problem):
    status = 403
    code = "reauthentication_required"
    title = _("Sign in again or give the current password")


class IdentityNotFound(NotFound):
    code = "identity_not_found"
    title = _("No such identity on this account")


class LastSignInMethod(Problem):
    status = 409
    code = "last_sign_in_method"
    title = _("This is the account's only way to sign in")


class EmailUnavailable(Problem):
    status = 503
    code = "email_unavailable"
    title = _("The email could not be sent")


class NoticeKindUnknown(Problem):
    status = 422
    code = "notice_kind_unknown"
    title = _("No such kind of security notice")


class CodeInvalid(Problem):
    """Unknown address, no code, a wrong, expired, used or worn-out code: one answer."""

    status = 401
    code = "email_code_invalid"
    title = _("The code is wrong, expired or already used")
    event = AuthEvent.SIGN_IN


class EmailInUse(Problem):
    """Only whoever opened the confirmation link sent to that address learns it."""

    status = 409
    code = "email_in_use"
    title = _("Another account has taken this address since the change was asked for")
