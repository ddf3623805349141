from django.contrib import admin
from django.urls import include, path

from config.api import api, well_known
from devidp.social_entry import MOUNT_PATH as DEV_IDP_PATH

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path(".well-known/", well_known.urls),
    # Django's set_language (POST, CSRF-checked): the sign-in page's language switch.
    path("i18n/", include("django.conf.urls.i18n")),
    path(f"{DEV_IDP_PATH.strip('/')}/", include("devidp.urls")),
    path("", include("web.urls")),
]
