"""Start-up checks of the accounts settings."""

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from accounts.conf import CODE_LINK_PLACEHOLDERS, LINK_PLACEHOLDERS, AccountSettings
from core.conf import fault_errors

# The declared constraints' faults, each under its setting's id.
CHECK_IDS = {
    "ACCOUNTS_RECENT_SIGN_IN_MINUTES": "accounts.E002",
    "ACCOUNTS_DEVICE_TOKEN_DAYS": "accounts.E003",
    "ACCOUNTS_EMAIL_CODE_TTL": "accounts.E007",
}


@register()
def account_settings_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    # The templates are read from the settings, not account_settings(): a constraint's fault stops
    # that, and every fault is reported at once.
    errors = fault_errors(AccountSettings, CHECK_IDS)
    for name in ("ACCOUNTS_VERIFY_EMAIL_URL", "ACCOUNTS_RESET_PASSWORD_URL"):
        url = getattr(settings, name)
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
        elif not settings.DEBUG and settings.AUTH_PASSWORD_LOGIN and urlsplit(url).scheme != "https":
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
    for name in ("ACCOUNTS_EMAIL_CHANGE_URL", "ACCOUNTS_EMAIL_CHANGE_CANCEL_URL"):
        url = getattr(settings, name)
        missing = [placeholder for placeholder in LINK_PLACEHOLDERS if placeholder not in url]
        if missing:
            errors.append(Error(f"{name}={url!r} lacks {' and '.join(missing)}.", id="accounts.E005"))
    if not settings.DEBUG:
        # As accounts.E004, whatever AUTH_PASSWORD_LOGIN says: codes and email changes work without passwords.
        for name in ("ACCOUNTS_EMAIL_CODE_URL", "ACCOUNTS_EMAIL_CHANGE_URL", "ACCOUNTS_EMAIL_CHANGE_CANCEL_URL"):
            url = getattr(settings, name)
            if urlsplit(url).scheme != "https":
                errors.append(
                    Error(
                        f"{name}={url!r} is not an https URL, and DJANGO_DEBUG is off.",
                        hint="Set it to the frontend's page, e.g. https://app.example.com/auth/email-change#uid={uid}"
                        "&token={token} (docs/accounts.md).",
                        id="accounts.E008",
                    )
                )
    code_url = settings.ACCOUNTS_EMAIL_CODE_URL
    missing = [placeholder for placeholder in CODE_LINK_PLACEHOLDERS if placeholder not in code_url]
    if missing:
        errors.append(
            Error(
                f"ACCOUNTS_EMAIL_CODE_URL={code_url!r} lacks {' and '.join(missing)}.",
                hint="The sign-in page fills both in, e.g. https://app.example.com/sign-in#email={email}&code={code}.",
                id="accounts.E006",
            )
        )
    return errors
