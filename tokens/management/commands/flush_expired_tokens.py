from django.core.management.base import BaseCommand

from tokens.services import tokens_flush_expired


class Command(BaseCommand):
    help = "Deletes expired refresh tokens and the sessions whose last refresh token has expired."

    def handle(self, *args, **options):
        sessions, tokens = tokens_flush_expired()
        self.stdout.write(f"Deleted {sessions} expired session(s) and {tokens} expired refresh token(s).")
