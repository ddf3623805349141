from django.core.management.base import BaseCommand

from tokens.keys import signing_keys_delete_expired
from tokens.services import tokens_flush_expired


class Command(BaseCommand):
    help = (
        "Deletes expired refresh tokens, the sessions whose last refresh token has expired, "
        "and the retired signing keys whose tokens have all expired."
    )

    def handle(self, *args, **options):
        sessions, tokens = tokens_flush_expired()
        signing_keys = signing_keys_delete_expired()
        self.stdout.write(
            f"Deleted {sessions} expired session(s), {tokens} expired refresh token(s) "
            f"and {len(signing_keys)} expired signing key(s)."
        )
