"""The words app.js shows, in the request's language: rendered into the page as JSON (json_script).

One table instead of Django's JavaScriptCatalog view: no second request before the page can
speak, and no inline script (the CSP has none). `{name}` placeholders are filled in by app.js's t().
New strings for the page go here, wrapped in gettext_lazy; web/locale/<lang>/ holds their translations.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

PAGE_STRINGS: dict[str, Promise] = {
    # Provider buttons: each provider's own label (its published guidelines), else the generic one.
    "sign_in_kakao": _("Login with Kakao"),
    "sign_in_naver": _("Log in with NAVER"),
    "sign_in_google": _("Sign in with Google"),
    "sign_in_apple": _("Sign in with Apple"),
    "sign_in_with": _("Sign in with {provider}"),
    "link_provider": _("Link {provider}"),
    # Repeated buttons get a name that says which row they act on (WCAG 2.5.3, 4.1.2).
    "end": _("End"),
    "end_session_on": _("End the session on {device}, {ip}"),
    "unlink": _("Unlink"),
    "unlink_identity": _("Unlink {provider} ({email})"),
    "this_tab": _("this tab"),
    "unknown_device": _("unknown device"),
    "no_email": _("no email shared"),
    "user_number": _("User {id}"),
    "copy": _("Copy"),
    "copied": _("Copied"),
    "expiry_memory": _("Expires at {time}; the refresh token (in memory) in {days} days."),
    "expiry_cookie": _("Expires at {time}; the refresh token (in an HttpOnly cookie) in {days} days."),
    "password_set": _("A password is set."),
    "no_password": _("No password is set."),
    "new_pair": _("New token pair: the previous refresh token no longer works."),
    "tab_session_ended": _("This tab's session has ended."),
    "session_ended": _("Session ended."),
    "signed_out": _("Signed out."),
    "signed_out_everywhere": _("Signed out everywhere: {count} session(s) ended."),
    "signed_out_other_tab": _("Signed out in another tab."),
    "email_confirmed": _("Email address confirmed: you are signed in."),
    "password_reset_done": _("Password set. Every other session has been signed out."),
    "identity_unlinked": _("{provider} unlinked."),
    # Problems the page raises itself (client.js), by code; the API's own come translated.
    "problem_network_error": _("The server cannot be reached"),
    "problem_state_invalid": _("The sign-in state does not match"),
    "problem_state_invalid_detail": _("This callback was not started from this tab. Sign in again."),
    "problem_provider_error": _("The provider did not sign you in"),
}


def page_strings() -> dict[str, str]:
    """The table in the active language."""
    return {key: str(text) for key, text in PAGE_STRINGS.items()}
