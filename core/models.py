from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from core.emails import EMAIL_MAX_LENGTH, EmailInvalid, canonical_email
from core.fields import CanonicalEmailField
from core.signals import users_disabled


class UserQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        """A bulk update that disables users tells the apps that keep their sessions."""
        if kwargs.get("is_active") is not False:
            return super().update(**kwargs)
        user_ids = list(self.filter(is_active=True).values_list("pk", flat=True))
        updated = super().update(**kwargs)
        if user_ids:
            users_disabled.send(sender=self.model, user_ids=user_ids)
        return updated

    def locked_with_password_of(self, user: "User") -> bool:
        """Locks the user's row until the transaction ends; whether its password hash is still the one `user`
        was loaded with. A sign-in starts its session under it with what it checked: a password change
        committed since refuses it, and one waiting on the lock ends that session (accounts.signals)."""
        return self.select_for_update().filter(pk=user.pk, password=user.password).exists()


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str | None:
        """The canonical form (core.emails): every email is stored and looked up that way."""
        return canonical_email(email) if email else None

    def create_user(self, email: str | None = None, password: str | None = None, **fields: Any) -> "User":
        user = self.model(email=self.normalize_email(email), **fields)
        # Social-login users have no password; set_unusable_password keeps the admin form honest.
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        # Whoever runs createsuperuser vouches for the address.
        fields.update(is_staff=True, is_superuser=True, email_verified=True)
        return self.create_user(email, password, **fields)

    def get_by_email(self, email: str) -> "User":
        return self.get(email=self.normalize_email(email))


# Named so that code trimming a provider's profile to fit says which limit it trims to.
DISPLAY_NAME_MAX_LENGTH = 150
AVATAR_URL_MAX_LENGTH = 1000
# A language code of settings.LANGUAGES ("ko", "en", "zh-hans", ...).
LANGUAGE_MAX_LENGTH = 16


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Social logins attach to it; it may have no email (Kakao may not give one)."""

    # NULL rather than "" for "no email", so that the unique constraint ignores it. Always
    # canonical (core.emails), so uniqueness and look-ups are exact equality, on MySQL too (core.fields).
    email = CanonicalEmailField(max_length=EMAIL_MAX_LENGTH, unique=True, null=True, blank=True)
    # Whether the person proved they receive mail there: an emailed link, a provider that
    # vouches for it, or an administrator. An unverified password account may not sign in
    # and never has a social identity linked to it by email (docs/accounts.md).
    email_verified = models.BooleanField(default=False)
    display_name = models.CharField(max_length=DISPLAY_NAME_MAX_LENGTH, blank=True)
    avatar_url = models.URLField(max_length=AVATAR_URL_MAX_LENGTH, blank=True)
    # The language of the emails to the user (accounts.mail), one of settings.LANGUAGES; blank: not known,
    # the emails go in LANGUAGE_CODE. No `choices`: adding a language must not need a migration.
    language = models.CharField(max_length=LANGUAGE_MAX_LENGTH, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        constraints = [
            # Lower-case ASCII only, which every database folds alike: a write that skipped
            # canonical_email (a raw update) fails here instead of making a second spelling.
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="core_user_email_canonical"),
        ]

    def __str__(self) -> str:
        return self.email or self.display_name or f"user {self.pk}"

    def clean(self) -> None:
        # The admin's forms call this before checking uniqueness, so a second spelling of a
        # taken address is a form error, not an IntegrityError.
        super().clean()
        try:
            self.email = UserManager.normalize_email(self.email)
        except EmailInvalid as exc:
            raise ValidationError({"email": exc.detail}) from None
