"""Types of what Django and Ninja hand the project's code, for annotations only."""

from collections.abc import Callable
from typing import Generic, TypeVar

from django.http import HttpRequest, HttpResponseBase

AuthT = TypeVar("AuthT")

# The next step of a WSGI middleware chain (the project serves over WSGI only).
GetResponse = Callable[[HttpRequest], HttpResponseBase]


class AuthenticatedRequest(HttpRequest, Generic[AuthT]):
    """The request an API endpoint gets once its `auth` let it through: `auth` holds what that returned.

    Never instantiated: Ninja sets `auth` on Django's own HttpRequest, and django-stubs' class does not
    declare it. An endpoint annotates its request as, say, AuthenticatedRequest[Principal].
    """

    auth: AuthT
