import json
from argparse import ArgumentParser
from dataclasses import asdict
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from tokens.services import token_pair_for_email


class Command(BaseCommand):
    help = "Starts a session for a user and prints its token pair as one JSON line."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--create", action="store_true", help="Create the user if there is none.")

    def handle(self, *args: Any, email: str, create: bool, **options: Any) -> None:
        try:
            pair = token_pair_for_email(email=email, create=create)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user with email {email!r}; pass --create to make one.") from None
        self.stdout.write(json.dumps(asdict(pair)))
