"""Start-up checks of the accounts settings."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from accounts.conf import CODE_LINK_PLACEHOLDERS, LINK_PLACEHOLDERS, account_settings


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
    for name, url in (
        ("ACCOUNTS_EMAIL_CHANGE_URL", conf.email_change_url),
        ("ACCOUNTS_EMAIL_CHANGE_CANCEL_URL", conf.email_change_cancel_url),
    ):
        missing = [placeholder for placeholder in LINK_PLACEHOLDERS if placeholder not in url]
        if missing:
            errors.append(Error(f"{name}={url!r} lacks {' and '.join(missing)}.", id="accounts.E005"))
    missing = [placeholder for placeholder in CODE_LINK_PLACEHOLDERS if placeholder not in conf.email_code_url]
    if missing:
        errors.append(
            Error(
                f"ACCOUNTS_EMAIL_CODE_URL={conf.email_code_url!r} lacks {' and '.join(missing)}.",
                hint="The sign-in page fills both in, e.g. https://app.example.com/sign-in#email={email}&code={code}.",
                id="accounts.E006",
            )
        )
    if conf.email_code_ttl <= timedelta(0):
        errors.append(Error("ACCOUNTS_EMAIL_CODE_TTL must be positive.", id="accounts.E007"))
    if conf.recent_sign_in <= timedelta(0):
        errors.append(Error("ACCOUNTS_RECENT_SIGN_IN_MINUTES must be positive.", id="accounts.E002"))
    if conf.device_token_ttl <= timedelta(0):
        errors.append(Error("ACCOUNTS_DEVICE_TOKEN_DAYS must be positive.", id="accounts.E003"))
    return errors
