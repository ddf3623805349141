from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.db import models

from core.clients import client_network
from core.emails import canonical_email_or_none
from core.events import AuthEvent, email_target, emit
from core.models import User
from core.throttling import Throttle


class AdminLoginForm(AdminAuthenticationForm):
    """/admin/login/ as a sign-in surface like the API's: limited per client IP (an IPv6 client per
    network) and per username (API_THROTTLE_ADMIN_LOGIN, _USERNAME), each failure an auth event.

    The limits count every attempt, as the API's throttles do, before the password is checked:
    a refused attempt costs no hash and tells nothing, not even a right password.
    """

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": "Too many sign-in attempts. Try again later.",
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = canonical_email_or_none(username) or username.strip().lower()
        target = email_target(address) if address else None
        limits = (Throttle("admin_login", client_network), Throttle("admin_login_username", lambda request: address))
        # Every limit counts the attempt (a list, not a short-circuiting generator).
        allowed = [limit.allow_request(self.request) for limit in limits] if self.request is not None else [True]
        if not all(allowed):
            emit(AuthEvent.SIGN_IN, outcome="throttled", provider="admin", target=target)
            raise ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError as error:
            emit(AuthEvent.SIGN_IN, outcome="credentials_invalid", provider="admin", target=target)
            raise error
        emit(AuthEvent.SIGN_IN, outcome="success", provider="admin", user_id=self.get_user().pk)
        return cleaned


admin.site.login_form = AdminLoginForm


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("-date_joined",)
    list_display = ("id", "email", "email_verified", "display_name", "is_active", "is_staff", "date_joined")
    search_fields = ("email", "display_name")
    list_filter = ("is_active", "is_staff", "email_verified")
    # Django 6's default, chosen now rather than warned about.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("email", "email_verified", "password")}),
        ("Profile", {"fields": ("display_name", "avatar_url")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "email_verified", "password1", "password2")}),)
