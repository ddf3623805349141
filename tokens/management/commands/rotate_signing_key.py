import json
from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from tokens.conf import SUPPORTED_ALGORITHMS, token_settings
from tokens.keys import Rotation, default_retire_after, signing_key_rotate, signing_key_rotate_if_due


class Command(BaseCommand):
    help = (
        "Publishes a new signing key at once; it signs after JWT_KEY_ACTIVATION_DELAY (--now: at once), "
        "when the previous key retires: it stays in the JWKS until its last access token has expired plus "
        "that delay, and verifies for --retire-after seconds. Prints what it did as one JSON line."
    )
    # The checks demand a signing key, and this command is how a deployment gets its first one.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--algorithm", choices=sorted(SUPPORTED_ALGORITHMS), help="Default: JWT_ALGORITHM (%(default)s)."
        )
        parser.add_argument(
            "--retire-after",
            type=int,
            metavar="SECONDS",
            help="How long the previous key still verifies after it stops signing. Default: the longest token "
            "lifetime (JWT_REFRESH_TTL) + JWT_LEEWAY + JWT_KEY_SET_MAX_AGE, so that nobody is logged out.",
        )
        parser.add_argument(
            "--now",
            action="store_true",
            help="Sign with the new key at once: an emergency (a leaked key), since verifiers elsewhere that have "
            "not fetched the JWKS since will refuse its tokens until they do (docs/keys.md).",
        )
        parser.add_argument(
            "--scheduled",
            action="store_true",
            help="Rotate only if JWT_KEY_ROTATION_PERIOD calls for it (for cron; flush_expired_tokens does it too).",
        )

    def handle(
        self, *args: Any, algorithm: str | None, retire_after: int | None, now: bool, scheduled: bool, **options: Any
    ) -> None:
        if retire_after is not None and retire_after < 0:
            raise CommandError("--retire-after must be 0 or more seconds.")
        if scheduled and (now or retire_after is not None):
            raise CommandError("--scheduled rotates as the schedule does: without --now or --retire-after.")
        algorithm = algorithm or token_settings().algorithm
        try:
            if scheduled:
                rotation = signing_key_rotate_if_due(algorithm=algorithm)
                if rotation is None:
                    self.stdout.write(json.dumps({"rotated": False}))
                    return
            else:
                rotation = signing_key_rotate(
                    algorithm=algorithm,
                    retire_after=timedelta(seconds=retire_after)
                    if retire_after is not None
                    else default_retire_after(),
                    now_=now,
                )
        except ImproperlyConfigured as exc:  # no key-encryption key with debug off
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(rotation_summary(rotation)))


def rotation_summary(rotation: Rotation) -> dict[str, Any]:
    """When the new key signs, and when each retired key stops signing, leaves the JWKS and stops verifying."""
    return {
        "rotated": True,
        "kid": rotation.current.kid,
        "algorithm": rotation.current.algorithm,
        "created_at": rotation.current.created_at.isoformat(),
        "signs_from": rotation.current.signs_from.isoformat(),
        "retired": [
            {
                "kid": key.kid,
                "algorithm": key.algorithm,
                "signs_until": key.retired_at.isoformat(),
                "published_until": key.published_until.isoformat(),
                "verifies_until": key.verifies_until.isoformat(),
            }
            for key in rotation.retired
            if key.retired_at and key.published_until and key.verifies_until
        ],
        "deleted": rotation.deleted,
    }
