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
    # Emailed codes and the email change (docs/accounts.md).
    "code_sent": _("If {email} can sign in, a code is on its way to it: type it here, or open the emailed link."),
    "email_change_sent": _("Open the link emailed to {email} to make it your address."),
    "email_change_confirmed": _("Email address changed."),
    "email_change_cancelled": _(
        "The email change is stopped and every session signed out. Reset your password if someone may know it."
    ),
    # Security notices (accounts.mail.NOTICES): a toggle each, named by what it tells.
    "notice_new_device": _("A sign-in from a new device"),
    "notice_password_changed": _("The password changed"),
    "notice_email_changed": _("The email address changed"),
    "notice_identity_linked": _("A sign-in method linked"),
    "notice_identity_unlinked": _("A sign-in method removed"),
    "notice_second_factor_added": _("A second factor added"),
    "notice_second_factor_removed": _("A second factor removed"),
    "notice_passkey_added": _("A passkey added"),
    "notice_passkey_removed": _("A passkey removed"),
    "notice_account_deleted": _("The account deleted"),
    "notices_saved": _("Security email choices saved."),
    # Passkeys (passkeys.js).
    "passkey_remove": _("Remove"),
    "passkey_remove_named": _("Remove the passkey {name}"),
    "passkey_kind_passkey": _("passkey"),
    "passkey_kind_security_key": _("security key"),
    "passkey_never_used": _("never"),
    "passkey_default_name": _("Passkey {date}"),
    "passkey_registered": _("Passkey registered: it signs you in on its own."),
    "passkey_removed": _("Passkey removed."),
    "passkey_wrong_host": _("Passkeys work on {host} only: open this page there to use them."),
    "passkey_unsupported": _("This browser cannot use passkeys."),
    "passkey_none": _("No passkey yet."),
    # Second factors (mfa.js): the prompt, TOTP and recovery codes.
    "factor_sign_in": _(
        "A second step: give a code from your authenticator app or a recovery code, or use your security key."
    ),
    "factor_enrol": _(
        "This account must have a second step: scan the QR code with your authenticator app, or type the key"
        " into it, then give the code it shows."
    ),
    "factor_reauthenticate": _("This action needs a recent sign-in: prove it's you again, and it goes ahead."),
    "totp_on": _("An authenticator app gives your second step."),
    "totp_off": _("No authenticator app: add one so that a password alone cannot sign in."),
    "recovery_codes_left": _("Recovery codes left: {count}"),
    "totp_enabled": _("Authenticator app on: from now on, signing in asks for its code."),
    "totp_removed": _("Authenticator app removed."),
    "recovery_codes_created": _("New recovery codes: the previous ones no longer work."),
    "copy_recovery_codes": _("Copy the codes"),
    # The page's <title>, per view (app.js's show): "title" holds the view's name, title_<view id>.
    "title": _("{page} · Auth backend"),
    "title_signed_out": _("Sign in"),
    "title_completing": _("Signing you in…"),
    "title_signed_in": _("Your account"),
    "title_factor_prompt": _("Confirm it's you"),
    "title_verify_email": _("Confirm your email address"),
    "title_reset_password": _("Choose a new password"),
    "title_email_change": _("Confirm your new email address"),
    "title_email_change_cancel": _("Stop the email change"),
    # Problems the page raises itself (client.js), by code; the API's own come translated.
    "problem_network_error": _("The server cannot be reached"),
    "problem_state_invalid": _("The sign-in state does not match"),
    "problem_state_invalid_detail": _("This callback was not started from this tab. Sign in again."),
    "problem_provider_error": _("The provider did not sign you in"),
}


def page_strings() -> dict[str, str]:
    """The table in the active language."""
    return {key: str(text) for key, text in PAGE_STRINGS.items()}
