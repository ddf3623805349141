"""Kakao's answers -> Identity: pure functions, fed plain dicts by the tests (kakao/fixtures.py)."""

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


def kakao_identity(user: dict[str, Any]) -> Identity:
    """Kakao's `GET /v2/user/me` body. Its email counts only with all three of Kakao's flags on."""
    if user.get("id") is None:
        raise ProviderUnavailable(_("Kakao's user info has no id."))
    account = answer_object(user.get("kakao_account"), "kakao_account")
    profile = answer_object(account.get("profile"), "kakao_account.profile")
    email_usable = all(account.get(flag) is True for flag in ("has_email", "is_email_valid", "is_email_verified"))
    email = answer_email(account.get("email")) if email_usable else None
    return Identity(
        subject=answer_subject(user["id"]),
        email=email,
        email_verified=email is not None,
        display_name=answer_text(profile.get("nickname"), "nickname"),
        avatar_url=""
        if profile.get("is_default_image")
        else answer_https_url(profile.get("profile_image_url"), "profile_image_url"),
        profile=user,
    )


def kakao_id_token_identity(claims: dict[str, Any]) -> Identity:
    """Kakao's id_token claims: `sub` is the user's id, as in /v2/user/me, so both paths find one account.

    The id_token carries no verification flags (those are in /v2/user/me), so its email is
    recorded and never believed.
    """
    return Identity(
        subject=answer_subject(claims["sub"]),
        email=answer_email(claims.get("email")),
        email_verified=False,
        display_name=answer_text(claims.get("nickname"), "nickname"),
        avatar_url=answer_https_url(claims.get("picture"), "picture"),
        profile=claims,
    )
