"""The languages of settings.LANGUAGES: which one a request asked for, and a user's choice of one (docs/i18n.md)."""

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation.trans_real import parse_accept_lang_header


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def request_language(request: HttpRequest) -> str:
    """The supported language the request asked for by its language cookie or Accept-Language; "" if none.

    Not translation.get_language(): that falls back to LANGUAGE_CODE, and a user who asked for nothing (or
    only for languages this server lacks) is remembered as unknown, so that their emails follow LANGUAGE_CODE.
    """
    asked = [request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")]
    # Django's own parser, which LocaleMiddleware uses: the header's languages by their q-values.
    asked += [code for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", ""))]
    for code in asked:
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return ""


def language_valid(value: str) -> str:
    """A schema validator: one of LANGUAGES' codes, or "" to forget the choice."""
    if value and value not in language_codes():
        raise ValueError(gettext("must be one of %(languages)s") % {"languages": ", ".join(language_codes())})
    return value
