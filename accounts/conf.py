"""The accounts app's settings, read through `account_settings()` (see core.conf)."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from core.conf import settings_accessor

# Both must appear in the link templates: the frontend hands them to the API.
LINK_PLACEHOLDERS = ("{uid}", "{token}")
CODE_LINK_PLACEHOLDERS = ("{email}", "{code}")


@dataclass(frozen=True)
class AccountSettings:
    # AUTH_PASSWORD_LOGIN: sign-up, password sign-in, reset and change; off answers 404.
    password_login: bool
    # Frontend pages the emailed links open, with {uid} and {token} in them.
    verify_email_url: str
    reset_password_url: str
    # How long after signing in a user may delete the account without the password again.
    recent_sign_in: timedelta
    # How long a device token (accounts.devices) exempts its client from the per-address lockout.
    device_token_ttl: timedelta
    # Emailed sign-in codes (accounts.codes): how long one works, whether an unknown address signs up,
    # and the page the email links to ({email} and {code} in it).
    email_code_ttl: timedelta
    email_code_signup: bool
    email_code_url: str
    # The email change's pages ({uid} and {token}): the confirmation, and the old address's cancel.
    email_change_url: str
    email_change_cancel_url: str
    # How long emailed links work (Django's PASSWORD_RESET_TIMEOUT, from ACCOUNTS_EMAIL_LINK_TTL).
    email_link_ttl: timedelta


@settings_accessor
def account_settings() -> AccountSettings:
    return AccountSettings(
        password_login=settings.AUTH_PASSWORD_LOGIN,
        verify_email_url=settings.ACCOUNTS_VERIFY_EMAIL_URL,
        reset_password_url=settings.ACCOUNTS_RESET_PASSWORD_URL,
        recent_sign_in=timedelta(minutes=settings.ACCOUNTS_RECENT_SIGN_IN_MINUTES),
        device_token_ttl=timedelta(days=settings.ACCOUNTS_DEVICE_TOKEN_DAYS),
        email_code_ttl=timedelta(seconds=settings.ACCOUNTS_EMAIL_CODE_TTL),
        email_code_signup=settings.ACCOUNTS_EMAIL_CODE_SIGNUP,
        email_code_url=settings.ACCOUNTS_EMAIL_CODE_URL,
        email_change_url=settings.ACCOUNTS_EMAIL_CHANGE_URL,
        email_change_cancel_url=settings.ACCOUNTS_EMAIL_CHANGE_CANCEL_URL,
        email_link_ttl=timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT),
    )
