"""django-ninja-jwt as its README sets it up, with rotation and the refresh-token blacklist on."""

from datetime import timedelta

from common import *  # noqa: F403
from common import INSTALLED_APPS

ROOT_URLCONF = "ninja_jwt_peer.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "ninja_extra", "ninja_jwt", "ninja_jwt.token_blacklist"]
NINJA_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(hours=1),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}
