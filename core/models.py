from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str | None = None, password: str | None = None, **fields: Any) -> "User":
        user = self.model(email=self.normalize_email(email) or None, **fields)
        # Social-login users have no password; set_unusable_password keeps the admin form honest.
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)

    def get_by_email(self, email: str) -> "User":
        return self.get(email__iexact=email)


# Named so that code trimming a provider's profile to fit says which limit it trims to.
DISPLAY_NAME_MAX_LENGTH = 150
AVATAR_URL_MAX_LENGTH = 1000


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Social logins attach to it; it may have no email (Kakao may not give one)."""

    # NULL rather than "" for "no email", so that the unique constraint ignores it.
    email = models.EmailField(max_length=254, unique=True, null=True, blank=True)
    display_name = models.CharField(max_length=DISPLAY_NAME_MAX_LENGTH, blank=True)
    avatar_url = models.URLField(max_length=AVATAR_URL_MAX_LENGTH, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="core_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email or self.display_name or f"user {self.pk}"
