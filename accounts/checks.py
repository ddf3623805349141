"""Start-up checks of the accounts settings."""

from datetime import timedelta

from django.core.checks import Error, register

from accounts.conf import LINK_PLACEHOLDERS, account_settings


@register()
def account_settings_check(app_configs, **kwargs):
    conf = account_settings()
    errors = []
    for name, url in (
        ("ACCOUNTS_VERIFY_EMAIL_URL", conf.verify_email_url),
        ("ACCOUNTS_RESET_PASSWORD_URL", conf.reset_password_url),
    ):
        missing = [placeholder for placeholder in LINK_PLACEHOLDERS if placeholder not in url]
        if missing:
            errors.append(
                Error(
                    f"{name}={url!r} lacks {' and '.join(missing)}.",
                    hint="The emailed link carries the user id and the token there, e.g. "
                    "https://app.example.com/auth/verify-email#uid={uid}&token={token}.",
                    id="accounts.E001",
                )
            )
    if conf.recent_sign_in <= timedelta(0):
        errors.append(Error("ACCOUNTS_RECENT_SIGN_IN_MINUTES must be positive.", id="accounts.E002"))
    return errors
