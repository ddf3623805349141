"""Start-up checks of the accounts settings."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from accounts.conf import LINK_PLACEHOLDERS, account_settings


@register()
def account_settings_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    conf = account_settings()
    errors: list[CheckMessage] = []
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
        elif not settings.DEBUG and conf.password_login and urlsplit(url).scheme != "https":
            # The default (the development server) with debug off, or a plain-http page: the emailed
            # link would send its token in clear text, or to a page that is not the frontend.
            errors.append(
                Error(
                    f"{name}={url!r} is not an https URL, and DJANGO_DEBUG is off with AUTH_PASSWORD_LOGIN on.",
                    hint="Set it to the frontend's page, e.g. https://app.example.com/auth/verify-email#uid={uid}"
                    "&token={token}, or turn password sign-in off (AUTH_PASSWORD_LOGIN=0).",
                    id="accounts.E004",
                )
            )
    if conf.recent_sign_in <= timedelta(0):
        errors.append(Error("ACCOUNTS_RECENT_SIGN_IN_MINUTES must be positive.", id="accounts.E002"))
    if conf.device_token_ttl <= timedelta(0):
        errors.append(Error("ACCOUNTS_DEVICE_TOKEN_DAYS must be positive.", id="accounts.E003"))
    return errors
