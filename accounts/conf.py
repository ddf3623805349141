"""The accounts app's settings, declared and validated in one form (core.conf.AppSettings).

The link templates' placeholders, and their scheme with debug off, are accounts.checks'.
"""

from datetime import timedelta

from pydantic import Field

from core.conf import AppSettings, Days, Minutes, Seconds, settings_accessor

# Both must appear in the link templates: the frontend hands them to the API.
LINK_PLACEHOLDERS = ("{uid}", "{token}")
CODE_LINK_PLACEHOLDERS = ("{email}", "{code}")


class AccountSettings(AppSettings):
    # Sign-up, password sign-in, reset and change; off answers 404.
    password_login: bool = Field(alias="AUTH_PASSWORD_LOGIN")
    # Frontend pages the emailed links open, with {uid} and {token} in them.
    verify_email_url: str = Field(alias="ACCOUNTS_VERIFY_EMAIL_URL")
    reset_password_url: str = Field(alias="ACCOUNTS_RESET_PASSWORD_URL")
    # How long after signing in a user may delete the account without the password again.
    recent_sign_in: Minutes = Field(alias="ACCOUNTS_RECENT_SIGN_IN_MINUTES", gt=timedelta(0))
    # How long a device token (accounts.devices) exempts its client from the per-address lockout.
    device_token_ttl: Days = Field(alias="ACCOUNTS_DEVICE_TOKEN_DAYS", gt=timedelta(0))
    # Emailed sign-in codes (accounts.codes): how long one works, whether an unknown address signs up,
    # and the page the email links to ({email} and {code} in it).
    email_code_ttl: Seconds = Field(alias="ACCOUNTS_EMAIL_CODE_TTL", gt=timedelta(0))
    email_code_signup: bool = Field(alias="ACCOUNTS_EMAIL_CODE_SIGNUP")
    email_code_url: str = Field(alias="ACCOUNTS_EMAIL_CODE_URL")
    # The email change's pages ({uid} and {token}): the confirmation, and the old address's cancel.
    email_change_url: str = Field(alias="ACCOUNTS_EMAIL_CHANGE_URL")
    email_change_cancel_url: str = Field(alias="ACCOUNTS_EMAIL_CHANGE_CANCEL_URL")
    # How long emailed links work: Django's own setting, which config/settings.py reads from ACCOUNTS_EMAIL_LINK_TTL.
    email_link_ttl: Seconds = Field(alias="PASSWORD_RESET_TIMEOUT")


account_settings = settings_accessor(AccountSettings.from_django_settings)
