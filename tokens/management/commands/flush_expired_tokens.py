from typing import Any

from django.core.management.base import BaseCommand

from tokens.conf import token_settings
from tokens.keys import signing_key_rotate_if_due, signing_keys_delete_expired
from tokens.services import tokens_flush_expired


class Command(BaseCommand):
    help = (
        "Deletes expired refresh tokens, the sessions whose last refresh token has expired, "
        "and the retired signing keys whose tokens have all expired; rotates the signing key when "
        "JWT_KEY_ROTATION_PERIOD calls for it (published ahead, as rotate_signing_key does)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sessions, tokens = tokens_flush_expired()
        signing_keys = signing_keys_delete_expired()
        self.stdout.write(
            f"Deleted {sessions} expired session(s), {tokens} expired refresh token(s) "
            f"and {len(signing_keys)} expired signing key(s)."
        )
        rotation = signing_key_rotate_if_due(algorithm=token_settings().algorithm)
        if rotation is not None:
            self.stdout.write(
                f"Rotated the signing key (JWT_KEY_ROTATION_PERIOD): {rotation.current.kid} signs from "
                f"{rotation.current.signs_from.isoformat()}."
            )
