"""djangorestframework-simplejwt as its docs set it up, with rotation and the blacklist on."""

from datetime import timedelta

from common import *  # noqa: F403
from common import INSTALLED_APPS

ROOT_URLCONF = "simplejwt_peer.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework", "rest_framework_simplejwt.token_blacklist"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(hours=1),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}
