from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from tokens.keys import signing_keys_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypts every private signing key under the first of JWT_KEY_ENCRYPTION_KEYS (and encrypts "
        "any stored in plaintext). Run it after putting a new key first; then the old one can be removed."
    )
    # tokens.E013 refuses plaintext keys with debug off, and this command is how they get encrypted.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = signing_keys_reencrypt()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Re-encrypted {count} signing key(s) under the newest key-encryption key.")
