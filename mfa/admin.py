"""The admin's view of second factors: who has TOTP, and the reset of a user's factors."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from mfa import services
from mfa.models import TotpDevice


@admin.register(TotpDevice)
class TotpDeviceAdmin(admin.ModelAdmin):
    # The secret is never shown: it is encrypted, and the admin never decrypts it.
    list_display = ("user", "created_at", "confirmed_at")
    fields = ("user", "created_at", "confirmed_at")
    readonly_fields = ("user", "created_at", "confirmed_at")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    actions = ["reset_factors"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TotpDevice | None = None) -> bool:
        return False  # through reset_factors, which ends the sessions too

    @admin.action(description="Reset these users' second factors (and end their sessions)")
    def reset_factors(self, request: HttpRequest, queryset: QuerySet[TotpDevice]) -> None:
        user_ids = list(queryset.values_list("user_id", flat=True))
        for user_id in user_ids:
            services.mfa_reset(user_id=user_id)
        self.message_user(request, f"Reset the second factors of {len(user_ids)} user(s).", messages.SUCCESS)
