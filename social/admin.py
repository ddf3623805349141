from django.contrib import admin
from django.http import HttpRequest

from core.models import User
from social.models import SocialAccount

_READ_ONLY = ("provider", "subject", "email", "email_verified", "first_login_at", "last_login_at")


@admin.register(SocialAccount)
class SocialAccountAdmin(admin.ModelAdmin):
    list_display = ("id", "provider", "subject", "user", "email", "email_verified", "last_login_at")
    list_filter = ("provider", "email_verified")
    search_fields = ("subject", "email", "user__email", "user__display_name")
    list_select_related = ("user",)
    readonly_fields = (*_READ_ONLY, "profile")
    raw_id_fields = ("user",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class SocialAccountInline(admin.TabularInline):
    model = SocialAccount
    fields = _READ_ONLY
    readonly_fields = _READ_ONLY
    extra = 0
    # Deleting a row unlinks the identity: its next login creates or links a user afresh.
    can_delete = True

    def has_add_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False


# core registers the user admin and knows nothing of social: extend whatever class is
# registered, so that core stays free of imports of this app.
_user_admin_class = type(admin.site.get_model_admin(User))
admin.site.unregister(User)


# mypy cannot check a base class known only at run time.
@admin.register(User)
class UserAdmin(_user_admin_class):  # type: ignore[misc,valid-type]
    inlines = [*_user_admin_class.inlines, SocialAccountInline]
