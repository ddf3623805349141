"""A bare django-ninja endpoint, no authentication: the ceiling the others are compared to."""

from common import *  # noqa: F403

ROOT_URLCONF = "bare.urls"
