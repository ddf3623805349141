import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from tokens.conf import SUPPORTED_ALGORITHMS, token_settings
from tokens.keys import default_retire_after, signing_key_rotate


class Command(BaseCommand):
    help = (
        "Makes a new current signing key; the previous one keeps verifying for --retire-after seconds, "
        "then this command or flush_expired_tokens deletes it. Prints what it did as one JSON line."
    )
    # The checks demand a signing key, and this command is how a deployment gets its first one.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--algorithm", choices=sorted(SUPPORTED_ALGORITHMS), help="Default: JWT_ALGORITHM (%(default)s)."
        )
        parser.add_argument(
            "--retire-after",
            type=int,
            metavar="SECONDS",
            help="How long the previous key still verifies. Default: the longest token lifetime "
            "(JWT_REFRESH_TTL) + JWT_LEEWAY + JWT_KEY_SET_MAX_AGE, so that nobody is logged out.",
        )

    def handle(self, *args, algorithm: str | None, retire_after: int | None, **options):
        if retire_after is not None and retire_after < 0:
            raise CommandError("--retire-after must be 0 or more seconds.")
        rotation = signing_key_rotate(
            algorithm=algorithm or token_settings().algorithm,
            retire_after=timedelta(seconds=retire_after) if retire_after is not None else default_retire_after(),
        )
        self.stdout.write(
            json.dumps(
                {
                    "kid": rotation.current.kid,
                    "algorithm": rotation.current.algorithm,
                    "created_at": rotation.current.created_at.isoformat(),
                    "retired": [
                        {"kid": key.kid, "algorithm": key.algorithm, "verifies_until": key.verifies_until.isoformat()}
                        for key in rotation.retired
                        if key.verifies_until is not None
                    ],
                    "deleted": rotation.deleted,
                }
            )
        )
