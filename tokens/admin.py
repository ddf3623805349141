from datetime import datetime
from typing import TYPE_CHECKING, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tokens import services
from tokens.models import RefreshToken, Session, SessionActivity, SessionQuerySet, SigningKey

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class RefreshTokenInline(admin.TabularInline):
    model = RefreshToken
    fk_name = "session"
    fields = ("jti", "issued_at", "expires_at", "rotated_from")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-issued_at",)

    def has_add_permission(self, request: HttpRequest, obj: Session | None = None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "created_at", "last_used_at", "refresh_expires_at", "ended_at", "end_reason", "ip")
    readonly_fields = ("id", "user", "created_at", "expires_at", "ended_at", "end_reason", "user_agent", "ip")
    list_filter = ("end_reason",)
    search_fields = ("id", "user__email", "ip", "user_agent")
    list_select_related = ("user",)
    inlines = [RefreshTokenInline]
    actions = ["end_sessions"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Session]:
        # The admin's queryset comes from Session.objects, a SessionQuerySet.
        return cast(SessionQuerySet, super().get_queryset(request)).with_activity()

    @admin.display(ordering="last_used_at")
    def last_used_at(self, session: "WithAnnotations[Session, SessionActivity]") -> datetime:
        return session.last_used_at

    @admin.display(ordering="refresh_expires_at", description="ends if idle at")
    def refresh_expires_at(self, session: "WithAnnotations[Session, SessionActivity]") -> datetime:
        return session.refresh_expires_at

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="End selected sessions (their tokens stop working)")
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[Session]) -> None:
        ended = services.sessions_end_by_admin(sessions=queryset)
        self.message_user(request, f"Ended {ended} session(s).", messages.SUCCESS)


@admin.register(RefreshToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    list_display = ("jti", "session", "issued_at", "expires_at", "used")
    search_fields = ("jti", "session__id", "session__user__email")
    list_select_related = ("session", "replaced_by")
    readonly_fields = ("jti", "session", "issued_at", "expires_at", "rotated_from")

    @admin.display(boolean=True, description="used (blacklisted)")
    def used(self, token: RefreshToken) -> bool:
        return token.is_used

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """The key set, for looking: `rotate_signing_key` makes keys. Never the private half.

    Deleting a key (say, one that leaked) stops its tokens on every process within
    JWT_KEY_SET_MAX_AGE seconds (docs/keys.md).
    """

    list_display = (
        "kid",
        "algorithm",
        "state",
        "created_at",
        "signs_from",
        "retired_at",
        "published_until",
        "verifies_until",
    )
    list_filter = ("state", "algorithm")
    fields = list_display
    readonly_fields = list_display
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
