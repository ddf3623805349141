"""The admin's view of WebAuthn credentials; a user with only these is reset from here (mfa's reset)."""

from django.contrib import admin
from django.http import HttpRequest

from mfa.admin import reset_factors
from passkeys.models import WebAuthnCredential


@admin.register(WebAuthnCredential)
class WebAuthnCredentialAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "passkey", "created_at", "last_used_at")
    fields = ("user", "name", "passkey", "backup_eligible", "aaguid", "created_at", "last_used_at")
    readonly_fields = fields
    search_fields = ("user__email",)
    list_select_related = ("user",)
    actions = [reset_factors]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: WebAuthnCredential | None = None) -> bool:
        return False  # through reset_factors, which ends the sessions too
