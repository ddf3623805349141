"""Naver's answers -> Identity: a pure function, fed plain dicts by the tests (naver/fixtures.py)."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from social.errors import ProviderUnavailable
from social.providers.base import (
    Identity,
    answer_email,
    answer_https_url,
    answer_object,
    answer_subject,
    answer_text,
)


def naver_identity(body: dict[str, Any]) -> Identity:
    """Naver's `GET /v1/nid/me` envelope: `resultcode` "00" and the profile in `response`.

    Naver says nothing of the address's verification: it counts as verified, and the
    provider's `trust_email` (off by default) decides whether it is believed.
    """
    if body.get("resultcode") != "00":
        raise ProviderUnavailable(
            _("Naver refused the profile request."), provider_error=answer_text(body.get("resultcode"), "resultcode")
        )
    profile = answer_object(body.get("response"), "response")
    email = answer_email(profile.get("email"))
    return Identity(
        subject=answer_subject(profile.get("id")),
        email=email,
        email_verified=email is not None,
        display_name=answer_text(profile.get("nickname"), "nickname") or answer_text(profile.get("name"), "name"),
        avatar_url=answer_https_url(profile.get("profile_image"), "profile_image"),
        profile=profile,
    )
